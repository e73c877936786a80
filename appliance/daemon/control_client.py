"""The client side of the daemon's control socket (JSON lines over a unix stream socket; the
protocol is described in control_server.py): one request and its answer, or a subscription."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from appliance.errors import VoiceboxError

Event = dict[str, Any]


class ControlError(VoiceboxError):
    """The control socket cannot be served or reached."""

    code = "control"


def encode(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def _connect(path: Path, timeout: float | None) -> socket.socket:
    path = Path(path)
    if not path.exists():
        raise ControlError(f"the daemon is not running (no socket at {path})")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError) as err:
        s.close()
        raise ControlError(f"the daemon is not running ({path} refuses connections)") from err
    except PermissionError as err:
        s.close()
        raise ControlError(f"no permission to use {path} (join the box's group?)") from err
    except OSError as err:
        s.close()
        raise ControlError(f"cannot reach the daemon at {path}: {err}") from err
    return s


def _read_line(lines: Any, path: Path, timeout: float | None) -> Event | None:
    try:
        raw = lines.readline()
    except TimeoutError as err:
        raise ControlError(f"the daemon at {path} did not answer within {timeout} s") from err
    except OSError as err:
        raise ControlError(f"the connection to the daemon at {path} broke: {err}") from err
    if not raw:
        return None
    try:
        ev = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ControlError(f"the daemon at {path} sent something that is not JSON") from err
    if not isinstance(ev, dict):
        raise ControlError(f"the daemon at {path} sent {type(ev).__name__}, not an object")
    return ev


def request(path: Path, msg: Event, timeout: float | None = 5.0) -> Event:
    """Send one request, return the one answer (`timeout` for connecting and the answer; a
    reload warms the changed profiles first, so give it a minute)."""
    with _connect(path, timeout) as s, s.makefile("rb") as lines:
        try:
            s.sendall(encode(msg))
        except OSError as err:
            raise ControlError(f"cannot send to the daemon at {path}: {err}") from err
        ev = _read_line(lines, Path(path), timeout)
    if ev is None:
        raise ControlError(f"the daemon at {path} closed the connection without an answer")
    if ev.get("type") == "error" and ev.get("refused"):
        raise ControlError(f"the daemon at {path} refused: {ev.get('message')}")
    return ev


class Subscription:
    """The status line, then the box's events as they happen. `close()` (any thread) ends it."""

    def __init__(self, path: Path, timeout: float | None) -> None:
        self.path = Path(path)
        self._sock = _connect(self.path, timeout)
        self._lines = self._sock.makefile("rb")
        self._closed = False
        try:
            self._sock.sendall(encode({"cmd": "subscribe"}))
            first = _read_line(self._lines, self.path, timeout)
        except (OSError, ControlError):
            self.close()
            raise
        if first is None:
            self.close()
            raise ControlError(f"the daemon at {self.path} closed the subscription at once")
        if first.get("type") == "error":
            self.close()
            raise ControlError(f"the daemon at {self.path} refused: {first.get('message')}")
        self.status = first
        self._sock.settimeout(None)  # events may be minutes apart
        self._first: Event | None = first

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        if self._closed:
            raise StopIteration
        try:
            ev = _read_line(self._lines, self.path, None)
        except ControlError:
            if self._closed:
                raise StopIteration from None
            raise
        if ev is None:
            self.close()
            raise StopIteration
        return ev

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked in another thread
        with contextlib.suppress(OSError):
            self._lines.close()
        self._sock.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def subscribe(path: Path, timeout: float | None = 5.0) -> Subscription:
    """Subscribe to the daemon's events: an iterator whose first item is the status line.
    `timeout` bounds connecting and the status line; later reads wait for the next event."""
    return Subscription(path, timeout)
