"""The daemon's control socket: JSON lines over a unix stream socket (the TUI's way in).

A client sends one JSON object per line and gets JSON lines back:
- `{"cmd": "status"}`: one `{"type": "status", ...}` line (the daemon's picture, see Daemon).
- `{"cmd": "subscribe"}`: the status line, then every event of the box as it happens, until
  the client disconnects. A subscriber that falls behind is dropped (the box never waits).
- `{"cmd": "reload"}`: re-read the config file; one `{"type": "reload", "ok": ...}` line.
- `{"cmd": "call", "uri": "sip:203@pbx", "assistant": "scheduling"}`: the box places the call
  (within its call limit); one `{"type": "call", "ok": ..., "call": KEY}` line (or "error").
  `{"cmd": "hangup", "call": KEY}` ends it. (appliance/daemon/outbound.py)
- anything else: `{"type": "error", "message": ...}`; the connection stays usable.

Who may connect (checked with SO_PEERCRED when a client connects, besides the socket's 0660
mode): root, the daemon's own user, and members of the technician group (by default the
daemon's group: `voicebox` under systemd; `usermod -aG voicebox <technician>`). At most
MAX_CLIENTS at once. Anyone else, and a client over the limit, gets one
`{"type": "error", "refused": true, "message": ...}` line and the connection is closed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import socket
import stat
import struct
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from appliance.daemon.control_client import ControlError, Subscription, encode, request, subscribe
from appliance.daemon.live_state import LiveState

_LOGGER = logging.getLogger(__name__)
__all__ = ["ControlError", "ControlServer", "LiveState", "Subscription", "request", "subscribe"]
Event = dict[str, Any]
QUEUE_MAX = 2000  # events a subscriber may lag behind before it is dropped
LINE_MAX = 1 << 16  # longest request line accepted
SOCKET_MODE = 0o660
MAX_CLIENTS = 8  # connections served at once (the TUI holds one or two)
_CRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def _error(message: str) -> Event:
    return {"type": "error", "message": message}


def allowed(uid: int, gid: int, groups: Iterable[int], *, group: int) -> bool:
    """The access policy: root, the daemon's own user, or a member of `group` (primary or
    supplementary group of the connecting process)."""
    return uid in (0, os.geteuid()) or gid == group or group in groups


def peer(conn: socket.socket) -> tuple[int, int, int]:
    """pid, uid and gid of the process at the other end (from the kernel: SO_PEERCRED)."""
    pid, uid, gid = _CRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CRED.size))
    return pid, uid, gid


def peer_groups(pid: int, uid: int, gid: int) -> list[int]:
    """The supplementary groups of the connecting process (/proc), else those /etc/group gives
    its user (a process that ended at once has no /proc entry)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Groups:"):
                    return [int(g) for g in line.split()[1:]]
    except (OSError, ValueError):
        pass
    import pwd

    try:
        return os.getgrouplist(pwd.getpwuid(uid).pw_name, gid)
    except KeyError:
        return []


def group_name(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


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
        group: int | None = None,
        commands: dict[str, Callable[[Event], Event]] | None = None,
    ) -> None:
        self.path = Path(path)
        self.group = os.getegid() if group is None else group  # the technician group
        self._clients = 0  # connections being served
        self.status = status
        self.reload = reload
        self.fold = fold
        self.commands = dict(commands or {})  # more commands: name -> answer(request)
        self._lock = threading.Lock()
        self._subs: list[_Subscriber] = []
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    @property
    def clients(self) -> int:
        with self._lock:
            return self._clients

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
            why = self._refusal(conn)
            if why:
                _refuse(conn, why)
                continue
            conn.settimeout(None)
            threading.Thread(
                target=self._serve, args=(conn,), name="control-client", daemon=True
            ).start()

    def _refusal(self, conn: socket.socket) -> str:
        """Why this connection is not served ("" when it is); counts it when it is."""
        try:
            pid, uid, gid = peer(conn)
        except OSError as err:
            return f"cannot tell who you are: {err}"
        if not allowed(uid, gid, peer_groups(pid, uid, gid), group=self.group):
            _LOGGER.warning("control: refused uid %d gid %d (pid %d)", uid, gid, pid)
            return (
                f"permission denied: uid {uid} is not root, the daemon's user nor a member of "
                f"group {group_name(self.group)}"
            )
        with self._lock:
            if self._clients >= MAX_CLIENTS:
                busy = True
            else:
                busy, self._clients = False, self._clients + 1
        if busy:
            _LOGGER.warning("control: refused a client: already %d connected", MAX_CLIENTS)
            return f"too many clients: at most {MAX_CLIENTS} at once; try again later"
        return ""

    def _serve(self, conn: socket.socket) -> None:
        try:
            self._serve_lines(conn)
        finally:
            with self._lock:
                self._clients -= 1

    def _serve_lines(self, conn: socket.socket) -> None:
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
        if isinstance(cmd, str) and cmd in self.commands:
            try:
                answer = self.commands[cmd](msg)
            except Exception as err:
                _LOGGER.exception("control: %s failed", cmd)
                answer = _error(f"{cmd} failed: {err}")
            conn.sendall(encode(answer))
            return False
        known = ", ".join(["status", "subscribe", "reload", *self.commands])
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


def _refuse(conn: socket.socket, why: str) -> None:
    """One error line, then the connection is closed (never blocks the accept loop long)."""
    with conn:
        conn.settimeout(1.0)
        with contextlib.suppress(OSError):
            conn.sendall(encode({**_error(why), "refused": True}))
            conn.recv(LINE_MAX, socket.MSG_DONTWAIT)  # unread bytes would reset the line
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)


def _hung_up(conn: socket.socket) -> bool:
    """Whether the client closed its end (checked while no event comes)."""
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
