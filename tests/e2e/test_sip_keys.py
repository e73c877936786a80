"""Keypad, blind transfer, overflow and registration failures, on a box with the 135M model
(these tests are about the phone system, not the replies)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sipkit import Kamailio, Proc, box_config, call, silence_wav, start_box, start_call

pytestmark = pytest.mark.e2e


def test_key_0_blind_transfers_the_caller_to_reception(
    small_box: Proc, kamailio: Kamailio, reception: Proc, sipdir: Path
) -> None:
    mark, ext_mark = small_box.mark(), reception.mark()
    rc, events = call(
        f"sip:101@{kamailio.host}", silence_wav(sipdir, 14), sipdir / "key0.wav",
        "--dtmf", "0@4", "--tail", "0",
    )  # fmt: skip
    assert rc == 0
    types = [e["type"] for e in events]
    assert "transfer_request" in types, types
    refer = next(e for e in events if e["type"] == "transfer_request")
    assert refer["to"].startswith("<sip:200@") or refer["to"].startswith("sip:200@"), refer
    legs = [e for e in events if e["type"] == "connected"]
    assert len(legs) == 2 and "200@" in legs[1]["remote"], legs
    assert reception.of("incoming", ext_mark), "reception's phone rang"
    asked = small_box.wait_for(lambda e: e["type"] == "human_requested", 5, since=mark)
    assert asked["why"] == "keypad" and asked["human"] == "reception"
    done = small_box.wait_for(lambda e: e["type"] == "transfer_done", 10, since=mark)
    assert done["mode"] == "blind"
    end = small_box.wait_for(lambda e: e["type"] == "call_end", 10, since=mark)
    assert end["reason"].startswith("transferred to reception")


def test_typed_digits_reach_the_assistant(
    small_box: Proc, kamailio: Kamailio, sipdir: Path
) -> None:
    mark = small_box.mark()
    rc, _ = call(
        f"sip:101@{kamailio.host}", silence_wav(sipdir, 12), sipdir / "digits.wav",
        "--dtmf", "4711#@5.5,9@7:info", "--tail", "0",
    )  # fmt: skip
    assert rc == 0
    said = [e["text"] for e in small_box.of("utterance", mark)]
    assert said[0] == "(typed on the phone keypad: 4711)", said
    # a lone 9 by SIP INFO ends after the pause (no # needed)
    assert "(typed on the phone keypad: 9)" in said, said
    dtmf = small_box.of("dtmf", mark)
    assert [d["method"] for d in dtmf] == ["rfc2833"] * 5 + ["info"]


def test_call_over_the_limit_is_transferred_to_reception(
    small_box: Proc, kamailio: Kamailio, reception: Proc, sipdir: Path
) -> None:
    mark, ext_mark = small_box.mark(), reception.mark()
    first = start_call(
        f"sip:101@{kamailio.host}", silence_wav(sipdir, 12), sipdir / "first.wav", "--tail", "0",
        log=sipdir / "first.log",
    )  # fmt: skip
    first.wait_for(lambda e: e["type"] == "connected", 15)
    rc, events = call(
        f"sip:101@{kamailio.host}", silence_wav(sipdir, 3), sipdir / "second.wav", "--tail", "0"
    )
    assert rc == 0
    refer = next(e for e in events if e["type"] == "transfer_request")
    assert "200@" in refer["to"]
    legs = [e for e in events if e["type"] == "connected"]
    assert len(legs) == 2 and "200@" in legs[1]["remote"], legs
    over = small_box.wait_for(lambda e: e["type"] == "call_overflow", 5, since=mark)
    assert over["action"] == "transfer"
    assert not small_box.of("call_start", mark)[1:], "no assistant for the overflow call"
    assert reception.of("incoming", ext_mark)
    first.wait_for(lambda e: e["type"] == "done", 30)
    assert first.stop() == 0


def test_wrong_password_is_a_clear_state_without_a_crash_loop(
    kamailio: Kamailio, sipdir: Path
) -> None:
    cfg = box_config(sipdir / "wrongpw.yaml", kamailio, user="101", password="not-the-password")
    box = start_box(cfg, sipdir, llm="smollm2-135m", name="wrongpw")
    try:
        failed = box.wait_for(lambda e: e["type"] == "registration", 20)
        assert failed["state"] == "auth_failed" and failed["code"] in (401, 403)
        assert failed["retry_in_s"] == 300.0  # no hammering the PBX with a wrong password
        time.sleep(4)
        regs = box.of("registration")
        assert len(regs) == 1, regs
        assert box.proc.poll() is None, "the daemon keeps running (calls in peer mode still work)"
        assert "not-the-password" not in box.log.read_text(errors="replace")
    finally:
        box.stop()
