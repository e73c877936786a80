"""The daemon's control socket: JSON lines over a unix stream socket (the TUI's way in).

A client sends one JSON object per line and gets JSON lines back:
- `{"cmd": "status"}`: one `{"type": "status", ...}` line (the daemon's picture, see Daemon).
- `{"cmd": "subscribe"}`: the status line, then every event of the box as it happens, until
  the client disconnects. A subscriber that falls behind is dropped (the box never waits).
- `{"cmd": "reload"}`: re-read the config file; one `{"type": "reload", "ok": ...}` line.
- anything else: `{"type": "error", "message": ...}`; the connection stays usable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.control_client import ControlError, Subscription, encode, request, subscribe
from appliance.live_state import LiveState

_LOGGER = logging.getLogger(__name__)
__all__ = ["ControlError", "ControlServer", "LiveState", "Subscription", "request", "subscribe"]
Event = dict[str, Any]
QUEUE_MAX = 2000  # events a subscriber may lag behind before it is dropped
LINE_MAX = 1 << 16  # longest request line accepted
SOCKET_MODE = 0o660


def _error(message: str) -> Event:
    return {"type": "error", "message": message}


def _alive(path: Path) -> bool:
    """Whether something accepts connections on the socket at `path`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def ensure_free(path: Path) -> None:
    """Raise ControlError when a live daemon answers at `path` or it is not a socket."""
    if not path.exists() and not path.is_symlink():
        return
    if not stat.S_ISSOCK(path.lstat().st_mode):
        raise ControlError(f"{path} exists and is not a socket; remove it or give --control")
    if _alive(path):
        raise ControlError(f"another voicebox daemon answers on {path}; stop it first")


class _Subscriber:
    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.queue: queue.Queue[Event | None] = queue.Queue(maxsize=QUEUE_MAX)
        self.dropped = False


class ControlServer:
    """Serves status, subscribe and reload on a unix socket, one thread per client.

    `status()` is called under the publish lock (keep it quick): a subscriber's status line and
    the events after it never overlap nor miss one. `fold(ev)`, when given, runs under the same
    lock before an event goes out (the daemon folds its LiveState there)."""

    def __init__(
        self,
        path: Path,
        status: Callable[[], Event],
        reload: Callable[[], Event],
        *,
        fold: Callable[[Event], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.status = status
        self.reload = reload
        self.fold = fold
        self._lock = threading.Lock()
        self._subs: list[_Subscriber] = []
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def start(self) -> None:
        ensure_free(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a stale socket of a daemon that died
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(self.path))
            os.chmod(self.path, SOCKET_MODE)
            sock.listen(8)
        except OSError as err:
            sock.close()
            raise ControlError(f"cannot serve the control socket {self.path}: {err}") from err
        sock.settimeout(0.5)
        self._sock = sock
        threading.Thread(target=self._accept, name="control-accept", daemon=True).start()
        _LOGGER.info("control socket at %s", self.path)

    def stop(self) -> None:
        self._stopping.set()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        with self._lock:
            subs, self._subs = self._subs, []
        for sub in subs:
            self._hang_up(sub)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def publish(self, ev: Event) -> None:
        """Fold and send one event to every subscriber; never blocks on a slow one."""
        with self._lock:
            if self.fold is not None:
                self.fold(ev)
            slow = []
            for sub in self._subs:
                try:
                    sub.queue.put_nowait(ev)
                except queue.Full:
                    slow.append(sub)
            for sub in slow:
                self._subs.remove(sub)
        for sub in slow:
            _LOGGER.warning("control: a subscriber fell %d events behind; dropped", QUEUE_MAX)
            self._hang_up(sub)

    @staticmethod
    def _hang_up(sub: _Subscriber) -> None:
        sub.dropped = True
        with contextlib.suppress(OSError):
            sub.conn.shutdown(socket.SHUT_RDWR)  # wakes its writer (sendall fails)
        with contextlib.suppress(queue.Full):
            sub.queue.put_nowait(None)

    # -- connections ------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping.is_set():
            sock = self._sock
            if sock is None:
                return
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by stop()
            conn.settimeout(None)
            threading.Thread(
                target=self._serve, args=(conn,), name="control-client", daemon=True
            ).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            try:
                while not self._stopping.is_set():
                    raw = lines.readline(LINE_MAX + 1)
                    if not raw:
                        return
                    if len(raw) > LINE_MAX:
                        conn.sendall(encode(_error(f"request longer than {LINE_MAX} bytes")))
                        return
                    if not raw.strip():
                        continue
                    if self._handle(conn, raw):
                        return
            except OSError as err:  # the client went away
                _LOGGER.debug("control client gone: %s", err)

    def _handle(self, conn: socket.socket, raw: bytes) -> bool:
        """Answer one request line; True when the connection is done (a subscription ended)."""
        try:
            msg = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            conn.sendall(encode(_error(f"not JSON: {err}")))
            return False
        cmd = msg.get("cmd") if isinstance(msg, dict) else None
        if cmd == "subscribe":
            self._stream(conn)
            return True
        if cmd in ("status", "reload"):
            call = self.status if cmd == "status" else self.reload
            try:
                answer = call()
            except Exception as err:
                _LOGGER.exception("control: %s failed", cmd)
                answer = _error(f"{cmd} failed: {err}")
            conn.sendall(encode(answer))
            return False
        known = "status, subscribe, reload"
        conn.sendall(encode(_error(f"unknown command {cmd!r} (known: {known})")))
        return False

    def _stream(self, conn: socket.socket) -> None:
        sub = _Subscriber(conn)
        with self._lock:
            first = self.status()
            self._subs.append(sub)
        try:
            conn.sendall(encode(first))
            while not sub.dropped:
                try:
                    ev = sub.queue.get(timeout=0.5)
                except queue.Empty:
                    if _hung_up(conn):
                        return
                    continue
                if ev is None:
                    return
                conn.sendall(encode(ev))
        except OSError:
            pass  # the subscriber left
        finally:
            with self._lock:
                if sub in self._subs:
                    self._subs.remove(sub)


def _hung_up(conn: socket.socket) -> bool:
    """Whether the client closed its end (checked while no event comes)."""
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
