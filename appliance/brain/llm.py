"""The shared LLM: loaded once, tokenizer, chat formatting and LoRA adapters.

Conversations never load the model again: each gets its own llama context on this model
(`appliance.brain.session.LlamaSession`).
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp import _internals

from appliance.brain.parts import Message as Message
from appliance.errors import BrainError

_LOGGER = logging.getLogger(__name__)

_backend_lock = threading.Lock()
_backend_ready = False


def _init_backend() -> None:
    global _backend_ready
    with _backend_lock:
        if not _backend_ready:
            from llama_cpp import _logger as llama_logger

            llama_logger.set_verbose(False)  # native logs only at ERROR level
            llama_cpp.llama_backend_init()
            _backend_ready = True


@dataclass
class Adapter:
    """A LoRA adapter loaded once on the shared model."""

    path: str
    handle: Any  # a llama_adapter_lora_p (ctypes pointer)
    load_ms: float


class SharedModel:
    """One quantized GGUF model in memory, shared by every conversation."""

    def __init__(self, path: Path, *, threads: int = 2, repack: bool = False) -> None:
        if not path.exists():
            raise BrainError(f"model file not found: {path}")
        _init_backend()
        params = llama_cpp.llama_model_default_params()
        # repacking copies the weights into an interleaved layout: +0.6 GB RSS for the 1.5B
        # model, and no faster first tokens measured on this machine class (README)
        params.use_extra_bufts = repack
        t0 = time.perf_counter()
        try:
            self._model = _internals.LlamaModel(path_model=str(path), params=params, verbose=False)
        except ValueError as err:
            raise BrainError(f"cannot load model {path}: {err}") from err
        self.load_ms = (time.perf_counter() - t0) * 1000
        self.path = path
        self.threads = threads
        self._adapters: dict[str, Adapter] = {}
        self._adapter_lock = threading.Lock()
        meta = self._model.metadata()
        self.architecture = meta.get("general.architecture", "?")
        template = meta.get("tokenizer.chat_template", "")
        if template and "<|im_start|>" not in template:
            raise BrainError(f"{path.name}: only ChatML models are supported (Qwen2.5, SmolLM2)")
        self.eos_tokens = {self._model.token_eos(), self._model.token_eot()} - {-1}
        im_end = self.tokenize("<|im_end|>")
        if len(im_end) == 1:
            self.eos_tokens.add(im_end[0])
        _LOGGER.info("loaded %s (%s) in %.0f ms", path.name, self.architecture, self.load_ms)

    @property
    def model(self) -> int:
        """The native llama_model pointer."""
        return self._model.model  # type: ignore[no-any-return]

    @property
    def vocab(self) -> int:
        return self._model.vocab  # type: ignore[no-any-return]

    @property
    def n_vocab(self) -> int:
        return int(self._model.n_vocab())

    @property
    def add_bos(self) -> bool:
        return bool(self._model.add_bos_token())

    def bos_token(self) -> int:
        return int(self._model.token_bos())

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a text fragment (special tokens parsed, no BOS)."""
        return list(self._model.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def piece(self, token: int) -> bytes:
        """The bytes of one token (may be part of a UTF-8 character)."""
        buf = ctypes.create_string_buffer(64)
        n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        return buf.raw[:n]

    def detokenize(self, tokens: list[int]) -> str:
        return bytes(self._model.detokenize(tokens, special=False)).decode("utf-8", "replace")

    def format_message(self, message: Message) -> list[int]:
        """The tokens of one ChatML message; message by message, so prefixes stay stable."""
        return self.tokenize(f"<|im_start|>{message.role}\n{message.content}<|im_end|>\n")

    def assistant_header(self) -> list[int]:
        return self.tokenize("<|im_start|>assistant\n")

    def start_tokens(self) -> list[int]:
        return [self.bos_token()] if self.add_bos else []

    def adapter(self, path: str) -> Adapter:
        """Load a LoRA adapter once; later calls return the same handle."""
        path = str(Path(path).resolve())
        with self._adapter_lock:
            found = self._adapters.get(path)
            if found is not None:
                return found
            if not Path(path).exists():
                raise BrainError(f"LoRA adapter not found: {path}")
            t0 = time.perf_counter()
            handle = llama_cpp.llama_adapter_lora_init(self.model, path.encode("utf-8"))
            if not handle:
                raise BrainError(
                    f"cannot load LoRA adapter {path} (not a LoRA GGUF for this model?)"
                )
            adapter = Adapter(path=path, handle=handle, load_ms=(time.perf_counter() - t0) * 1000)
            self._adapters[path] = adapter
            _LOGGER.info("loaded LoRA %s in %.1f ms", path, adapter.load_ms)
            return adapter

    def close(self) -> None:
        """Free the model; llama.cpp frees its adapters with it."""
        with self._adapter_lock:
            self._adapters.clear()
        self._model.close()  # type: ignore[no-untyped-call]
