"""One llama context on the shared model: KV prefix reuse, state save/restore, LoRA, decoding.

A session is used by one thread at a time (the conversation that owns it, or under a lock).
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import llama_cpp
import numpy as np
import numpy.typing as npt

from appliance.brain.llm import Adapter, SharedModel
from appliance.brain.parts import AdapterSet as AdapterSet
from appliance.errors import BrainError

_LOGGER = logging.getLogger(__name__)


@dataclass
class KVState:
    """A saved sequence state: the tokens it holds and the adapter set it was computed under."""

    tokens: tuple[int, ...]
    adapters: AdapterSet
    data: ctypes.Array[ctypes.c_uint8]

    @property
    def nbytes(self) -> int:
        return len(self.data)


class LlamaSession:
    """A llama context with its own KV cache and active adapters."""

    def __init__(self, model: SharedModel, *, n_ctx: int = 2048, threads: int | None = None):
        self.model = model
        self.n_batch = 512
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = self.n_batch
        params.n_ubatch = self.n_batch
        params.n_threads = threads or model.threads
        params.n_threads_batch = threads or model.threads
        params.no_perf = True
        ctx = llama_cpp.llama_init_from_model(model.model, params)
        if not ctx:
            raise BrainError(f"cannot create a llama context (n_ctx={n_ctx})")
        self._ctx = ctx
        self._mem = llama_cpp.llama_get_memory(ctx)
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self.n_ctx = llama_cpp.llama_n_ctx(ctx)
        self.tokens: list[int] = []
        self.adapters: AdapterSet = ()
        self.lock = threading.Lock()

    def set_threads(self, n: int) -> None:
        """Threads for this context's next decodes."""
        llama_cpp.llama_set_n_threads(self._ctx, n, n)

    # -- adapters and state -------------------------------------------------------------------

    def set_adapters(self, wanted: AdapterSet) -> float:
        """Make `wanted` the active adapter set; returns the time taken in ms.

        A KV prefix computed under another adapter set is dropped: it must not be reused.
        """
        if wanted == self.adapters:
            return 0.0
        t0 = time.perf_counter()
        loaded: list[Adapter] = [self.model.adapter(path) for path, _ in wanted]
        n = len(loaded)
        arr = (llama_cpp.llama_adapter_lora_p_ctypes * max(n, 1))(*[a.handle for a in loaded])
        scales = (ctypes.c_float * max(n, 1))(*[s for _, s in wanted])
        rc = llama_cpp.llama_set_adapters_lora(
            self._ctx, arr if n else None, n, scales if n else None
        )
        if rc != 0:
            raise BrainError(f"llama_set_adapters_lora failed ({rc})")
        self.adapters = wanted
        self.clear()
        return (time.perf_counter() - t0) * 1000

    def clear(self) -> None:
        llama_cpp.llama_memory_clear(self._mem, True)
        self.tokens = []

    def save(self) -> KVState:
        """Copy sequence 0's KV state (the tokens now in the cache)."""
        size = llama_cpp.llama_state_seq_get_size(self._ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(self._ctx, buf, size, 0)
        if written != size:
            raise BrainError(f"state save wrote {written} of {size} bytes")
        return KVState(tokens=tuple(self.tokens), adapters=self.adapters, data=buf)

    def restore(self, state: KVState) -> float:
        """Replace the cache with a saved state (adapters must match); returns ms taken."""
        t0 = time.perf_counter()
        if state.adapters != self.adapters:
            self.set_adapters(state.adapters)
        llama_cpp.llama_memory_clear(self._mem, True)
        read = llama_cpp.llama_state_seq_set_data(self._ctx, state.data, len(state.data), 0)
        if read == 0:
            self.tokens = []
            raise BrainError("KV state restore failed")
        self.tokens = list(state.tokens)
        return (time.perf_counter() - t0) * 1000

    # -- evaluation ---------------------------------------------------------------------------

    def _decode(self, tokens: list[int]) -> None:
        """Decode tokens after the current cache content; logits only for the last one."""
        for start in range(0, len(tokens), self.n_batch):
            chunk = tokens[start : start + self.n_batch]
            b = self._batch
            b.n_tokens = len(chunk)
            base = len(self.tokens)
            for i, tok in enumerate(chunk):
                b.token[i] = tok
                b.pos[i] = base + i
                b.n_seq_id[i] = 1
                b.seq_id[i][0] = 0
                b.logits[i] = 0
            b.logits[len(chunk) - 1] = 1
            rc = llama_cpp.llama_decode(self._ctx, b)
            if rc != 0:
                raise BrainError(f"llama_decode failed ({rc}) at position {base}")
            self.tokens.extend(chunk)

    def eval_prompt(self, tokens: list[int]) -> int:
        """Bring the cache to exactly `tokens`, reusing the longest common prefix.

        Returns how many tokens had to be evaluated.
        """
        if not tokens:
            raise BrainError("empty prompt")
        if len(tokens) >= self.n_ctx:
            raise BrainError(f"prompt of {len(tokens)} tokens exceeds the context ({self.n_ctx})")
        n = 0
        limit = min(len(self.tokens), len(tokens))
        while n < limit and self.tokens[n] == tokens[n]:
            n += 1
        if n == len(tokens):
            n -= 1  # the last token is evaluated again to get fresh logits
        if n < len(self.tokens):
            llama_cpp.llama_memory_seq_rm(self._mem, 0, n, -1)
            del self.tokens[n:]
        todo = tokens[n:]
        if todo:
            self._decode(todo)
        return len(todo)

    def last_logits(self) -> npt.NDArray[np.float32]:
        """Next-token logits after the last evaluated token (a copy)."""
        ptr = llama_cpp.llama_get_logits_ith(self._ctx, -1)
        if not ptr:
            raise BrainError("no logits available: evaluate a prompt first")
        return np.ctypeslib.as_array(ptr, shape=(self.model.n_vocab,)).copy()

    def generate(
        self,
        *,
        max_tokens: int,
        grammar: str | None = None,
        cancel: threading.Event | None = None,
        stop: Callable[[str], bool] | None = None,
    ) -> Iterator[str]:
        """Sample greedily after `eval_prompt`, yielding text pieces as they are decoded."""
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        try:
            if grammar is not None:
                g = llama_cpp.llama_sampler_init_grammar(
                    self.model.vocab, grammar.encode("utf-8"), b"root"
                )
                if not g:
                    raise BrainError("invalid grammar")
                llama_cpp.llama_sampler_chain_add(chain, g)
            else:
                llama_cpp.llama_sampler_chain_add(
                    chain,
                    llama_cpp.llama_sampler_init_penalties(self.model.n_vocab, 64, 1.15, 0.0, 0.0),
                )
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
            pending = b""
            text = ""
            room = self.n_ctx - len(self.tokens) - 1
            for _ in range(min(max_tokens, room)):
                if cancel is not None and cancel.is_set():
                    return
                tok = llama_cpp.llama_sampler_sample(chain, self._ctx, -1)
                if tok in self.model.eos_tokens or llama_cpp.llama_vocab_is_eog(
                    self.model.vocab, tok
                ):
                    break
                self._decode([tok])
                pending += self.model.piece(tok)
                try:
                    piece = pending.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                pending = b""
                text += piece
                yield piece
                if stop is not None and stop(text):
                    return
        finally:
            llama_cpp.llama_sampler_free(chain)

    def complete(self, tokens: list[int], *, max_tokens: int, grammar: str | None = None) -> str:
        """Evaluate a prompt and return the whole generated text."""
        self.eval_prompt(tokens)
        return "".join(self.generate(max_tokens=max_tokens, grammar=grammar))

    def close(self) -> None:
        if self._ctx:
            llama_cpp.llama_batch_free(self._batch)
            llama_cpp.llama_free(self._ctx)
            self._ctx = None
