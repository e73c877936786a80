"""Waiting for the end: a command runs until its work is done or it gets SIGINT/SIGTERM."""

from __future__ import annotations

import signal
import threading


def wait_signal(done: threading.Event) -> None:
    """Block until `done` or SIGINT/SIGTERM."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    while not done.wait(0.2):
        pass
