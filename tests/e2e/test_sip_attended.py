"""Warm transfers that end attended (REFER with Replaces: the box leaves the call) and the bridge
they fall back to, end to end through kamailio: a box on the 135M model registered as 104 with
two call slots, the front desk's phone at 201 (`voicebox extension`), test callers pressing 0.
And the other side of Replaces: nobody can take over one of the box's own calls with it."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rawsip import RawUA
from sipkit import (
    Kamailio,
    Proc,
    Wavs,
    box_config,
    silence_wav,
    start_box,
    start_call,
    start_extension,
)

from appliance.daemon.control_server import request

pytestmark = pytest.mark.e2e
Event = dict[str, Any]
CALLER_SAYS = "Hello, this is the caller. Can you hear me? I have a question about my invoice."


@pytest.fixture(scope="module")
def desk(kamailio: Kamailio, wavs: Wavs, sipdir: Path) -> Iterator[Proc]:
    """Extension 201: the front desk; answers and speaks every few seconds."""
    wav = wavs.script("desk", [(1500, "Front desk, how can I help you?")] * 16)
    ext = start_extension(kamailio, "201", wav, sipdir)
    yield ext
    ext.stop()


@pytest.fixture(scope="module")
def box(kamailio: Kamailio, sipdir: Path) -> Iterator[tuple[Proc, Path]]:
    """Warm transfers (default finish: attended), at most 2 calls, key 0 reaches the desk. The
    front desk is the whole team: these tests are about the legs, and a box on a busy 2-core
    machine loads one assistant in a fraction of the starter team's time."""
    cfg = box_config(
        sipdir / "attended.yaml",
        kamailio,
        user="104",
        transfer="warm",
        max_calls=2,
        warm_finish="attended",
    )
    data = yaml.safe_load(cfg.read_text())
    data["team"]["human_extensions"] = [
        {"name": "desk", "extension": "201", "description": "the front desk"}
    ]
    entry = next(a for a in data["assistants"] if a["name"] == data["team"]["entry"])
    data["assistants"] = [{**entry, "handoffs": []}]
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    sock = sipdir / "attended.sock"
    proc = start_box(cfg, sipdir, llm="smollm2-135m", name="attended", control=sock)
    proc.wait_for(lambda e: e["type"] == "registration" and e["state"] == "registered", 30)
    yield proc, sock
    proc.stop()


def status_when(sock: Path, ok: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The box's live state once `ok` holds (the daemon prints an event a moment before its
    status has folded it in), else the last one seen."""
    deadline = time.monotonic() + 3
    while True:
        state: dict[str, Any] = request(sock, {"cmd": "status"})["state"]
        if ok(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def caller_wav(wavs: Wavs) -> Path:
    """Quiet while the box answers and briefs the desk, then the caller talks for ~25 s."""
    return wavs.script("attended-caller", [(14000, CALLER_SAYS)] + [(1200, CALLER_SAYS)] * 4)


def test_warm_transfer_ends_attended_and_the_box_leaves_the_call(
    box: tuple[Proc, Path], kamailio: Kamailio, desk: Proc, wavs: Wavs, sipdir: Path
) -> None:
    proc, sock = box
    mark, desk_mark = proc.mark(), desk.mark()
    caller = start_call(
        f"sip:104@{kamailio.host}", caller_wav(wavs), sipdir / "attended-heard.wav",
        "--dtmf", "0@4", "--tail", "0", log=sipdir / "attended-caller.log",
    )  # fmt: skip
    try:
        refer = proc.wait_for(lambda e: e["type"] == "transfer_refer", 40, since=mark)
        key = refer["call"]
        done = proc.wait_for(lambda e: e["type"] == "transfer_done", 10, since=mark)
        assert done["mode"] == "attended" and done["human"] == "desk", done
        # both of the box's legs end: the desk's phone swaps its leg, the box hangs up its own
        proc.wait_for(lambda e: e["type"] == "call_ended" and "leg" not in e, 10, since=mark)
        proc.wait_for(lambda e: e["type"] == "call_ended" and e.get("leg") == "human", 10,
                      since=mark)  # fmt: skip
        assert [e["call"] for e in proc.of("call_ended", mark)] == [key, key]
        idle = {"calls": 0, "transfer_legs": 0, "used": 0, "max": 2}
        state = status_when(sock, lambda st: st["slots"] == idle)
        assert state["calls"] == {} and state["slots"] == idle, state
        # the caller and the desk still talk, and the box's two slots serve two new callers
        assert caller.proc.poll() is None, "the transferred caller is still on the phone"
        quiet = silence_wav(sipdir, 6)
        uri = f"sip:104@{kamailio.host}"
        others = [
            start_call(uri, quiet, sipdir / f"n{i}.wav", "--tail", "0", log=sipdir / f"n{i}.log")
            for i in (1, 2)
        ]
        for other in others:
            other.wait_for(lambda e: e["type"] == "connected", 15)
        assert caller.proc.poll() is None, "both new calls came while the caller talked on"
        for other in others:
            assert other.finish(30) == 0
        assert not proc.of("call_overflow", mark)
        assert caller.finish(60) == 0
    finally:
        caller.stop()
    # the caller's phone followed the REFER with Replaces and its new call reached the desk
    asked = next(e for e in caller.events if e["type"] == "transfer_request")
    assert "201@" in asked["to"] and "Replaces=" in asked["to"], asked
    legs = [e for e in caller.events if e["type"] == "connected"]
    assert len(legs) == 2 and "201@" in legs[1]["remote"], legs
    ended = {e["leg"]: e for e in caller.events if e["type"] == "disconnected"}
    assert ended[1]["heard_ms"], "the caller heard the desk on the new call"
    # the desk's phone replaced the box's leg with the caller's call, and heard the caller
    replaced = desk.wait_for(lambda e: e["type"] == "replaced", 5, since=desk_mark)
    new_leg = desk.wait_for(
        lambda e: e["type"] == "disconnected" and e["leg"] == replaced["by"], 10, since=desk_mark
    )
    talk = sum(b - a for a, b in new_leg["heard_ms"])
    assert talk >= 2000, new_leg
    connected = [e for e in desk.of("connected", desk_mark) if e["leg"] == replaced["by"]]
    assert connected and "phone@" in connected[0]["remote"], connected


def test_a_caller_refusing_the_refer_is_bridged_and_counted_as_two_legs(
    box: tuple[Proc, Path], kamailio: Kamailio, desk: Proc, wavs: Wavs, sipdir: Path
) -> None:
    proc, sock = box
    mark = proc.mark()
    caller = start_call(
        f"sip:104@{kamailio.host}", caller_wav(wavs), sipdir / "bridged-heard.wav",
        "--dtmf", "0@4", "--tail", "0", "--refuse-transfers", log=sipdir / "bridged-caller.log",
    )  # fmt: skip
    try:
        done = proc.wait_for(lambda e: e["type"] == "transfer_done", 40, since=mark)
        assert done["mode"] == "bridge" and "603" in done["why"], done
        key = done["call"]
        two = {"calls": 1, "transfer_legs": 1, "used": 2, "max": 2}
        state = status_when(sock, lambda st: st["slots"] == two)
        assert state["slots"] == two, state
        assert state["calls"][key]["legs"] == 2, state["calls"]
        # both slots are in use: the next caller is turned away (486)
        busy = start_call(
            f"sip:104@{kamailio.host}", silence_wav(sipdir, 2), sipdir / "busy.wav",
            "--tail", "0", log=sipdir / "bridged-busy.log",
        )  # fmt: skip
        assert busy.finish(20) == 1
        gone = next(e for e in busy.events if e["type"] == "disconnected")
        assert gone["code"] == 486, gone
        assert caller.finish(60) == 0
    finally:
        caller.stop()
    assert any(e["type"] == "transfer_refused" for e in caller.events), caller.events
    legs = [e for e in caller.events if e["type"] == "connected"]
    assert len(legs) == 1, legs
    assert next(e for e in caller.events if e["type"] == "disconnected")["heard_ms"]
    proc.wait_for(lambda e: e["type"] == "call_ended" and e.get("leg") == "human", 10, since=mark)
    ends = [e for e in proc.of("call_ended", mark) if e["call"] == key]
    assert len(ends) == 2, ends
    assert status_when(sock, lambda st: st["slots"]["used"] == 0)["slots"]["used"] == 0


def test_an_invite_with_replaces_cannot_take_over_a_call_of_the_box(
    box: tuple[Proc, Path], kamailio: Kamailio
) -> None:
    """An attacker who learns a call's dialog (Call-ID and tags) sends the box an INVITE that
    replaces it: pjsua would answer it by itself and hang up the caller. The box refuses (603)
    and the caller's call goes on."""
    proc, _sock = box
    pbx, uri = ("127.0.0.1", kamailio.port), f"sip:104@{kamailio.host}"
    caller, attacker = RawUA(), RawUA(user="mallory")
    mark = proc.mark()
    try:
        d, answer = caller.invite(uri, pbx)
        assert answer.code == 200, answer.first
        proc.wait_for(lambda e: e["type"] == "call_connected", 10, since=mark)
        call_id, branch, tag = secrets.token_hex(8) + "@mallory", secrets.token_hex(8), "m1"
        # the box's dialog as the box sees it: its own tag is the To tag of our call
        replaces = f"{d.call_id};to-tag={d.remote_tag};from-tag={d.local_tag}"
        host, port = attacker.addr
        attacker.send(
            f"INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{branch};rport"
            f"\r\nMax-Forwards: 70\r\nFrom: <sip:mallory@{host}:{port}>;tag={tag}\r\n"
            f"To: <{uri}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
            f"Contact: {attacker.contact}\r\nReplaces: {replaces}\r\nRequire: replaces\r\n"
            "Content-Length: 0\r\n\r\n",
            pbx,
        )
        final = attacker.wait_response(call_id, "INVITE", 10)
        assert final.code == 603, final.first
        time.sleep(1)
        assert not proc.of("call_ended", mark), "the caller's call was ended"
        assert not [m for m in caller.requests if m.method == "BYE"], "the box hung up on us"
        bye = caller.request(d, "BYE")
        assert bye.code == 200, bye.first  # the dialog was still the box's
        proc.wait_for(lambda e: e["type"] == "call_ended", 10, since=mark)
    finally:
        caller.close()
        attacker.close()
