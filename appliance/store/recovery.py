"""Opening the store without ever stopping the phone.

A corrupt file is moved aside (`voicebox.db.corrupt-<time>`, with its -wal and -shm; kept, never
deleted) and a new store started: "recovered". A store that cannot be opened or written (a
read-only disk, a directory in the way, no permission) leaves the box answering calls without
records: "off". Both are logged as ERROR; the daemon reports the state in its `ready` event and
its status (the TUI's dashboard shows it).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from appliance.errors import StoreError
from appliance.store import Store, StoreCorrupt

_LOGGER = logging.getLogger(__name__)


@dataclass
class StoreStatus:
    """What became of the store at open: "ok", "recovered" (a corrupt file was moved aside and a
    new one started) or "off" (no records: the box runs on without its store)."""

    state: str
    path: str
    message: str = ""
    moved_to: str | None = None
    interrupted: int = 0  # conversations of an earlier run closed as interrupted

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def aside_name(path: Path) -> Path:
    """A free `<name>.corrupt-<UTC time>` next to `path`."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    candidate = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    return candidate


def move_aside(path: Path) -> Path:
    """Rename the store and its -wal/-shm files to a `.corrupt-<time>` name (OSError)."""
    target = aside_name(path)
    os.rename(path, target)
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.rename(side, Path(f"{target}{suffix}"))
    return target


def open_store(path: Path, *, close_interrupted: bool = False) -> tuple[Store | None, StoreStatus]:
    """The store at `path` and what happened to it; never raises for a broken store. With
    `close_interrupted` (the daemon, once, before calls) open conversations of an earlier run are
    closed as interrupted."""
    status = StoreStatus("ok", str(path))
    try:
        store = Store(path)
    except StoreCorrupt as err:
        try:
            moved = move_aside(path)
        except OSError as move_err:
            status.state = "off"
            status.message = f"{err.message}; cannot move it aside ({move_err}): no records"
            _LOGGER.error("store off: %s", status.message)
            return None, status
        status.moved_to = str(moved)
        try:
            store = Store(path)
        except StoreError as again:
            status.state = "off"
            status.message = (
                f"{err.message}; moved aside to {moved}, but a new store fails too "
                f"({again.message}): no records"
            )
            _LOGGER.error("store off: %s", status.message)
            return None, status
        status.state = "recovered"
        status.message = f"corrupt store moved aside to {moved} (kept); a new one was started"
        _LOGGER.error("store recovered: %s (%s)", status.message, err.message)
    except StoreError as err:
        status.state = "off"
        status.message = f"{err.message}: the box answers calls but keeps no records"
        _LOGGER.error("store off: %s", status.message)
        return None, status
    if close_interrupted:
        try:
            status.interrupted = store.close_interrupted()
        except sqlite3.Error as err:  # a write error here must not stop the phone either
            _LOGGER.error("store: could not close the calls of an earlier run: %s", err)
        if status.interrupted:
            _LOGGER.warning(
                "store: %d call(s) of an earlier run closed as interrupted", status.interrupted
            )
    return store, status
