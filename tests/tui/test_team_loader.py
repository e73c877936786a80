"""The TUI's engine holder never frees the model under a running worker."""

from __future__ import annotations

import threading
import time
from typing import Any

from tui.team import TeamLoader


class FakeEngine:
    def __init__(self) -> None:
        self.closed_at: float | None = None

    def close(self) -> None:
        self.closed_at = time.monotonic()


def loader_with(engine: FakeEngine) -> TeamLoader:
    team = TeamLoader()
    team._engine = engine  # type: ignore[assignment]
    return team


def test_close_waits_for_the_worker_then_frees() -> None:
    engine = FakeEngine()
    team = loader_with(engine)
    finished: dict[str, Any] = {}

    def worker() -> None:
        with team.busy():
            time.sleep(0.3)
            finished["at"] = time.monotonic()

    t = threading.Thread(target=worker)
    t.start()
    time.sleep(0.05)
    team.close(wait_s=5)
    t.join()
    assert engine.closed_at is not None and engine.closed_at >= finished["at"]
    assert not team.loaded


def test_close_gives_up_without_freeing_when_the_worker_never_ends() -> None:
    engine = FakeEngine()
    team = loader_with(engine)
    release = threading.Event()

    def worker() -> None:
        with team.busy():
            release.wait(5)

    t = threading.Thread(target=worker)
    t.start()
    time.sleep(0.05)
    team.close(wait_s=0.2)
    assert engine.closed_at is None and team.loaded  # left to the process exit
    release.set()
    t.join()
