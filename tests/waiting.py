"""Polling helper shared by tests that wait for another thread or process."""

from __future__ import annotations

import time
from typing import Any


def wait_until(pred: Any, timeout: float = 3.0) -> None:
    """Poll `pred` every 10 ms until it is true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
