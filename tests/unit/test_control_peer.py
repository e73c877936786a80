"""Who may use the control socket (SO_PEERCRED: root, the daemon's user, the technician group)
and how many at once, on real unix sockets. Tests run as root: a forked child becomes nobody."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from waiting import wait_until

from appliance.daemon.control_server import (
    MAX_CLIENTS,
    ControlError,
    ControlServer,
    Subscription,
    allowed,
    request,
    subscribe,
)

NOBODY = 65534
Event = dict[str, Any]


def status() -> Event:
    return {"type": "status", "pid": 1, "state": {}}


def reload() -> Event:
    return {"type": "reload", "ok": True}


@pytest.fixture()
def open_dir() -> Iterator[Path]:
    """A directory anyone may enter, so only the daemon's own check can refuse a peer (the
    socket is made 0666 too: a file mode mistake must not open the box)."""
    d = Path(tempfile.mkdtemp(prefix="vbctl-"))
    os.chmod(d, 0o755)
    yield d
    for p in d.iterdir():
        p.unlink()
    d.rmdir()


@pytest.fixture()
def server(open_dir: Path) -> Iterator[ControlServer]:
    srv = ControlServer(open_dir / "control.sock", status, reload)
    srv.start()
    os.chmod(srv.path, 0o666)
    yield srv
    srv.stop()


def read_reply(s: socket.socket) -> tuple[list[Event], bool]:
    """Send a status request; the first line back, and whether the server closed the
    connection after it (an allowed client's connection stays open for the next request)."""
    s.settimeout(3.0)
    with contextlib.suppress(OSError):
        s.sendall(b'{"cmd": "status"}\n')
    got = b""
    try:
        while b"\n" not in got and (chunk := s.recv(4096)):
            got += chunk
        s.settimeout(0.5)
        closed = s.recv(4096) == b""
    except TimeoutError:
        closed = False
    except ConnectionResetError:
        closed = True
    return [json.loads(x) for x in got.splitlines() if x.strip()], closed


def as_user(path: Path, uid: int, gid: int, groups: list[int]) -> tuple[list[Event], bool]:
    """read_reply() as another user (a forked child drops root before it connects)."""
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no pytest, no exceptions out of here
        code = 0
        try:
            os.close(rd)
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(str(path))
                lines, closed = read_reply(s)
            os.write(wr, json.dumps({"lines": lines, "closed": closed}).encode())
        except BaseException as err:  # report anything to the parent
            os.write(wr, json.dumps({"error": f"{type(err).__name__}: {err}"}).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(wr)
    out = b""
    while chunk := os.read(rd, 65536):
        out += chunk
    os.close(rd)
    os.waitpid(pid, 0)
    got = json.loads(out)
    assert "error" not in got, got["error"]
    return got["lines"], got["closed"]


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="setuid to another user needs root")


@needs_root
def test_another_user_is_refused_with_one_json_line_and_root_is_served(
    server: ControlServer,
) -> None:
    lines, closed = as_user(server.path, NOBODY, NOBODY, [])
    assert len(lines) == 1 and closed, lines
    err = lines[0]
    assert err["type"] == "error" and err.get("refused") is True
    assert f"uid {NOBODY}" in err["message"]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:  # root is served
        s.connect(str(server.path))
        lines, closed = read_reply(s)
    assert lines[0]["type"] == "status" and not closed
    assert request(server.path, {"cmd": "status"})["type"] == "status"


@needs_root
def test_a_member_of_the_technician_group_is_served(open_dir: Path) -> None:
    tech = 4321
    srv = ControlServer(open_dir / "control.sock", status, reload, group=tech)
    srv.start()
    os.chmod(srv.path, 0o666)
    try:
        lines, closed = as_user(srv.path, NOBODY, NOBODY, [tech])  # a supplementary group
        assert lines[0]["type"] == "status" and not closed, lines
        lines, closed = as_user(srv.path, NOBODY, tech, [])  # the primary group
        assert lines[0]["type"] == "status" and not closed, lines
        lines, closed = as_user(srv.path, NOBODY, NOBODY, [tech + 1])
        assert lines[0]["type"] == "error" and closed
        assert "group 4321" in lines[0]["message"]
    finally:
        srv.stop()


def test_the_policy() -> None:
    """Root, the daemon's own user, and the technician group (primary or supplementary)."""
    me = os.geteuid()
    stranger = 12345 if me != 12345 else 12346
    assert allowed(0, stranger, [], group=777)
    assert allowed(me, stranger, [], group=777)
    assert allowed(stranger, 777, [], group=777)
    assert allowed(stranger, stranger, [1, 777], group=777)
    assert not allowed(stranger, stranger, [1, 2], group=777)
    assert not allowed(stranger, 0, [0], group=777)  # root's group is not root


def test_at_most_max_clients_at_once_the_next_gets_an_error_and_is_closed(
    server: ControlServer,
) -> None:
    assert MAX_CLIENTS == 8
    held: list[Subscription] = []
    try:
        for _ in range(MAX_CLIENTS):
            held.append(subscribe(server.path, timeout=3))
        wait_until(lambda: server.subscribers == MAX_CLIENTS)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as extra:
            extra.connect(str(server.path))
            lines, closed = read_reply(extra)
        assert len(lines) == 1 and lines[0]["type"] == "error" and closed
        assert f"at most {MAX_CLIENTS}" in lines[0]["message"]
        with pytest.raises(ControlError, match=f"at most {MAX_CLIENTS}"):
            request(server.path, {"cmd": "status"})
        with pytest.raises(ControlError, match=f"at most {MAX_CLIENTS}"):
            subscribe(server.path, timeout=3)
        assert server.clients == MAX_CLIENTS  # the refused ones are not counted
        # one leaves: a new client is served again
        held.pop().close()
        wait_until(lambda: server.clients == MAX_CLIENTS - 1)
        assert request(server.path, {"cmd": "status"})["type"] == "status"
    finally:
        for s in held:
            s.close()
    wait_until(lambda: server.clients == 0)
