"""Outbound calls through the running daemon: the control socket's call and hangup commands
(a real unix socket), and place_call's checks (address, assistant, the call limit shared with
the calls coming in) on a daemon whose SIP side is a recording stand-in."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from appliance.config import load_config
from appliance.daemon.control_server import ControlServer, request
from appliance.daemon.outbound import CallRefused, control_call, control_hangup, place_call


class Board:
    def __init__(self, in_progress: int) -> None:
        self.in_progress = in_progress
        self.dialled: list[tuple[str, str, str]] = []
        self.n = 0

    def calls_in_progress(self) -> int:
        return self.in_progress

    def new_key(self) -> str:
        self.n += 1
        return f"c{self.n}"

    def dial(self, uri: str, assistant: str, session: Any, key: str) -> str:
        self.dialled.append((uri, assistant, key))
        return key


class Session:
    def __init__(self, meta: Any) -> None:
        self.meta = meta
        self.on_end: list[Any] = []
        self.hung_up = ""
        self.loop = SimpleNamespace(hangup=lambda why: setattr(self, "hung_up", why))


class Daemon:
    """What place_call uses of appliance.daemon.service.Daemon."""

    def __init__(self, in_progress: int = 0, max_calls: int = 2) -> None:
        cfg = load_config("starter")
        sip = cfg.sip.model_copy(update={"max_calls": max_calls})
        self.cfg = cfg.model_copy(update={"sip": sip})
        self.board = Board(in_progress)
        self.ep = SimpleNamespace(run=lambda fn, timeout=10.0: fn())
        self.sessions: dict[str, Session] = {}

    def _new_session(self, meta: Any) -> Session:
        self.sessions[meta.key] = Session(meta)
        return self.sessions[meta.key]


def test_the_daemon_places_a_call_led_by_the_assistant() -> None:
    d = Daemon()
    key = place_call(d, " sip:203@192.168.1.10 ", "scheduling")  # type: ignore[arg-type]
    assert d.board.dialled == [("sip:203@192.168.1.10", "scheduling", key)]
    meta = d.sessions[key].meta
    assert (meta.direction, meta.caller, meta.assistant) == ("out", "sip:203@192.168.1.10",
                                                             "scheduling")  # fmt: skip


@pytest.mark.parametrize(
    ("uri", "assistant", "busy", "why"),
    [
        ("203", "scheduling", 0, "not a SIP address"),
        ("sip:203@pbx <x>", "scheduling", 0, "not a SIP address"),
        ("sip:203@pbx", "billing", 0, "unknown assistant 'billing'"),
        ("sip:203@pbx", "scheduling", 2, "call limit reached: 2 of 2 calls in progress"),
    ],
)
def test_a_call_the_box_cannot_place_is_refused_with_the_reason(
    uri: str, assistant: str, busy: int, why: str
) -> None:
    d = Daemon(in_progress=busy)
    with pytest.raises(CallRefused, match=why):
        place_call(d, uri, assistant)  # type: ignore[arg-type]
    assert d.board.dialled == [] and d.sessions == {}


def test_a_session_that_cannot_be_prepared_is_ended_and_not_dialled() -> None:
    d = Daemon()

    def broken(session: Any) -> None:
        raise CallRefused("scheduling is not given a calendar to remind from")

    with pytest.raises(CallRefused, match="calendar"):
        place_call(d, "sip:203@pbx", "scheduling", prepare=broken)  # type: ignore[arg-type]
    assert d.board.dialled == [] and d.sessions["c1"].hung_up == "not placed"


def test_call_and_hangup_on_the_control_socket(tmp_path: Path) -> None:
    d = Daemon(max_calls=1)
    server = ControlServer(
        tmp_path / "c.sock", lambda: {"type": "status"}, lambda: {"type": "reload"},
        commands={"call": lambda m: control_call(d, m),  # type: ignore[arg-type]
                  "hangup": lambda m: control_hangup(d, m)},  # type: ignore[arg-type]
    )  # fmt: skip
    server.start()
    try:
        sock = tmp_path / "c.sock"
        ok = request(sock, {"cmd": "call", "uri": "sip:203@pbx", "assistant": "sales"})
        assert ok == {"type": "call", "ok": True, "call": "c1", "uri": "sip:203@pbx",
                      "assistant": "sales"}  # fmt: skip
        entry = request(sock, {"cmd": "call", "uri": "sip:204@pbx"})
        assert entry["ok"] and entry["assistant"] == "frontdesk"  # the team's entry
        d.board.in_progress = 1
        full = request(sock, {"cmd": "call", "uri": "sip:205@pbx", "assistant": "sales"})
        assert full["ok"] is False and "call limit reached" in full["error"]
        bad = request(sock, {"cmd": "call", "uri": 5})
        assert bad["ok"] is False and "strings" in bad["error"]
        assert request(sock, {"cmd": "hangup", "call": "c1"}) == {"type": "hangup", "ok": True,
                                                                  "call": "c1"}  # fmt: skip
        assert d.sessions["c1"].hung_up == "hung up from the control socket"
        gone = request(sock, {"cmd": "hangup", "call": "c9"})
        assert gone["ok"] is False and "no call 'c9'" in gone["error"]
        unknown = request(sock, {"cmd": "dance"})
        assert "known: status, subscribe, reload, call, hangup" in unknown["message"]
    finally:
        server.stop()
