"""The brain: one shared model, cached profile prefixes, a pool of per-conversation sessions,
and a utility session (router choices, slot extraction, summaries) used under a lock."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import numpy as np

from appliance.brain.grammar import choice_grammar
from appliance.brain.llm import SharedModel
from appliance.brain.parts import Completion as Completion
from appliance.brain.parts import Message
from appliance.brain.prefix_cache import PrefixCache
from appliance.brain.session import AdapterSet, LlamaSession

_LOGGER = logging.getLogger(__name__)


class Brain:
    """Owns the shared model and every llama context made on it."""

    def __init__(self, model: SharedModel, *, n_ctx: int = 2048, utility_ctx: int = 1024):
        self.model = model
        self.n_ctx = n_ctx
        self.prefixes = PrefixCache()
        self._utility = LlamaSession(model, n_ctx=utility_ctx)
        self._utility_lock = threading.Lock()
        self._idle: list[LlamaSession] = []
        self._pool_lock = threading.Lock()
        self.sessions_created = 0
        self.replying = 0  # replies being generated now

    # -- tokens -----------------------------------------------------------------------------

    def system_tokens(self, text: str) -> list[int]:
        return self.model.start_tokens() + self.model.format_message(Message("system", text))

    def messages_tokens(self, messages: list[Message]) -> list[int]:
        out: list[int] = []
        for m in messages:
            out.extend(self.model.format_message(m))
        return out

    # -- sessions ---------------------------------------------------------------------------

    def acquire(self) -> LlamaSession:
        """A conversation session (reused from the pool when one is idle)."""
        with self._pool_lock:
            if self._idle:
                return self._idle.pop()
            self.sessions_created += 1
        return LlamaSession(self.model, n_ctx=self.n_ctx)

    def release(self, session: LlamaSession) -> None:
        with self._pool_lock:
            self._idle.append(session)

    # -- prefixes ---------------------------------------------------------------------------

    def warm_profile(self, key: str, system_text: str, adapters: AdapterSet = ()) -> None:
        """Compute a reply profile's system-prompt state once (on a conversation session)."""
        session = self.acquire()
        try:
            self.prefixes.warm(session, key, self.system_tokens(system_text), adapters)
        finally:
            session.clear()
            self.release(session)

    def warm_utility(self, key: str, system_text: str) -> None:
        with self._utility_lock:
            self.prefixes.warm(self._utility, key, self.system_tokens(system_text))

    def _ensure_prefix(self, session: LlamaSession, key: str, adapters: AdapterSet) -> float:
        state = self.prefixes.get(key, adapters)
        if state is None:
            raise KeyError(f"prefix {key!r} was not warmed")
        n = len(state.tokens)
        if session.adapters == adapters and tuple(session.tokens[:n]) == state.tokens:
            return 0.0  # already there: the rest is handled by prefix reuse
        return self.prefixes.activate(session, key, adapters)

    # -- generation -------------------------------------------------------------------------

    def utility(
        self, key: str, user_text: str, *, grammar: str | None, max_tokens: int
    ) -> Completion:
        """Run a cached utility prompt (router, slots, summary) on the shared utility session."""
        with self._utility_lock:
            t0 = time.perf_counter()
            n_tokens, evaluated = self._eval_utility(key, user_text)
            text = "".join(self._utility.generate(max_tokens=max_tokens, grammar=grammar))
            return Completion(text, n_tokens, evaluated, (time.perf_counter() - t0) * 1000)

    def _eval_utility(self, key: str, user_text: str) -> tuple[int, int]:
        """Evaluate a cached utility prefix + one user message (lock held); (tokens, evaluated)."""
        self._ensure_prefix(self._utility, key, ())
        state = self.prefixes.get(key, ())
        assert state is not None
        tokens = (
            list(state.tokens)
            + self.model.format_message(Message("user", user_text))
            + self.model.assistant_header()
        )
        return len(tokens), self._utility.eval_prompt(tokens)

    def choose(self, key: str, user_text: str, options: list[str]) -> tuple[str, dict[str, float]]:
        """Pick one of `options` after a cached utility prompt; returns (choice, probabilities).

        One forward pass: the options' first tokens are compared on the next-token logits (a
        softmax over the allowed options only), so nothing but an option can come out. Options
        whose first tokens collide fall back to grammar-constrained greedy decoding.
        """
        firsts = [self.model.tokenize(o)[0] for o in options]
        if len(set(firsts)) != len(firsts):
            done = self.utility(key, user_text, grammar=choice_grammar(options), max_tokens=8)
            choice = done.text.strip()
            return choice, {o: float(o == choice) for o in options}
        with self._utility_lock:
            self._eval_utility(key, user_text)
            logits = self._utility.last_logits()
        picked = np.array([logits[t] for t in firsts], dtype=np.float64)
        probs = np.exp(picked - picked.max())
        probs /= probs.sum()
        table = {o: round(float(p), 3) for o, p in zip(options, probs, strict=True)}
        return options[int(np.argmax(probs))], table

    def stream_reply(
        self,
        session: LlamaSession,
        key: str,
        adapters: AdapterSet,
        messages: list[Message],
        *,
        max_tokens: int,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        """Stream a reply of the profile `key` to `messages` (appended after its prefix)."""
        self._ensure_prefix(session, key, adapters)
        state = self.prefixes.get(key, adapters)
        assert state is not None
        tokens = list(state.tokens) + self.messages_tokens(messages) + self.model.assistant_header()
        with self._pool_lock:  # replies at once share the cores (llama.cpp threads spin)
            self.replying += 1
            session.set_threads(max(1, self.model.threads // self.replying))
        try:
            session.eval_prompt(tokens)
            yield from session.generate(max_tokens=max_tokens, cancel=cancel)
        finally:
            with self._pool_lock:
                self.replying -= 1

    def close(self) -> None:
        with self._pool_lock:
            for s in self._idle:
                s.close()
            self._idle.clear()
        self._utility.close()
        self.model.close()
