"""The engine behind the test console and the flow tests: loaded once, in a worker thread,
rebuilt for a changed config by reusing the loaded model (Engine.reconfigured)."""

from __future__ import annotations

import logging
import threading
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

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
