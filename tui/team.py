"""The engine behind the test console and the flow tests: loaded once, in a worker thread,
rebuilt for a changed config by reusing the loaded model (Engine.reconfigured)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from appliance.config import Config, dump_config

if TYPE_CHECKING:
    from appliance.engine import Engine

_LOGGER = logging.getLogger(__name__)


class TeamLoader:
    """One Engine for the TUI's text channel; `engine(cfg)` blocks: call it from a thread."""

    def __init__(self, llm: str | None = None) -> None:
        self.llm = llm
        self._engine: Engine | None = None
        self._text = ""
        self._lock = threading.Lock()
        self._users = 0
        self._idle = threading.Condition()

    def engine(self, cfg: Config) -> Engine:
        from appliance.engine import Engine

        text = dump_config(cfg)
        with self._lock:
            if self._engine is not None and text == self._text:
                return self._engine
            if self._engine is None:
                self._engine = Engine(cfg, llm=self.llm)
            else:
                self._engine = self._engine.reconfigured(cfg)
            self._text = text
            return self._engine

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Around a worker's use of the engine: `close()` waits for it (a model freed under a
        running turn crashes the process)."""
        with self._idle:
            self._users += 1
        try:
            yield
        finally:
            with self._idle:
                self._users -= 1
                self._idle.notify_all()

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    def close(self, wait_s: float = 15.0) -> None:
        """Free the model once no worker uses it; if one still does after `wait_s` (the app is
        quitting), leave it to the process exit rather than crash under the worker."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._users == 0, timeout=wait_s):
                _LOGGER.warning("engine still in use after %.0f s: not freed", wait_s)
                return
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
