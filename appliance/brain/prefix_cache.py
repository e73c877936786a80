"""System-prompt KV states, computed once per (profile, adapter set) and restored on a handoff."""

from __future__ import annotations

import logging
import threading
import time

from appliance.brain.session import AdapterSet, KVState, LlamaSession

_LOGGER = logging.getLogger(__name__)


class PrefixCache:
    """Saved KV states keyed by (profile key, adapter set).

    A state is only ever restored under the adapter set it was computed with: a prefix computed
    under another adapter would give wrong attention keys/values.
    """

    def __init__(self) -> None:
        self._states: dict[tuple[str, AdapterSet], KVState] = {}
        self._lock = threading.Lock()
        self.build_ms: dict[str, float] = {}

    def warm(
        self, session: LlamaSession, key: str, tokens: list[int], adapters: AdapterSet = ()
    ) -> KVState:
        """Evaluate `tokens` once under `adapters` and keep the state (idempotent)."""
        with self._lock:
            found = self._states.get((key, adapters))
        if found is not None and list(found.tokens) == tokens:
            return found
        t0 = time.perf_counter()
        session.set_adapters(adapters)
        session.clear()
        session.eval_prompt(tokens)
        state = session.save()
        ms = (time.perf_counter() - t0) * 1000
        with self._lock:
            self._states[(key, adapters)] = state
            self.build_ms[key] = ms
        _LOGGER.info(
            "prefix %s: %d tokens, %.1f MB, built in %.0f ms",
            key,
            len(tokens),
            state.nbytes / 1e6,
            ms,
        )
        return state

    def get(self, key: str, adapters: AdapterSet = ()) -> KVState | None:
        with self._lock:
            return self._states.get((key, adapters))

    def activate(self, session: LlamaSession, key: str, adapters: AdapterSet = ()) -> float:
        """Restore a saved prefix into `session` (setting its adapters); returns ms taken."""
        state = self.get(key, adapters)
        if state is None:
            raise KeyError(f"no cached prefix for {key!r} under adapters {adapters!r}")
        t0 = time.perf_counter()
        session.restore(state)
        return (time.perf_counter() - t0) * 1000

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return sum(s.nbytes for s in self._states.values())

    def keys(self) -> list[tuple[str, AdapterSet]]:
        with self._lock:
            return list(self._states)

    def discard(self, key: str, adapters: AdapterSet = ()) -> None:
        """Forget a saved state (a profile no engine uses any more)."""
        with self._lock:
            self._states.pop((key, adapters), None)
            if not any(k == key for k, _ in self._states):
                self.build_ms.pop(key, None)
