"""The box's CPU and memory, read from /proc (the TUI runs on the box itself)."""

from __future__ import annotations

import os
from pathlib import Path


class CpuMeter:
    """CPU use between two calls of `percent()` (all cores together, 0-100)."""

    def __init__(self) -> None:
        self._last = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        try:
            fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        except OSError:
            return 0, 0
        values = [int(v) for v in fields]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values), idle

    def percent(self) -> float:
        total, idle = self._read()
        dt, di = total - self._last[0], idle - self._last[1]
        self._last = (total, idle)
        return 0.0 if dt <= 0 else 100.0 * (dt - di) / dt


def memory() -> tuple[float, float]:
    """(used GiB, total GiB)."""
    info: dict[str, int] = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, rest = line.partition(":")
            info[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0
    total = info.get("MemTotal", 0)
    avail = info.get("MemAvailable", 0)
    return (total - avail) / 1048576, total / 1048576


def load1() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0
