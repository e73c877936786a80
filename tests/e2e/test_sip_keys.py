"""Keypad, blind transfer, overflow and registration failures, on a box with the 135M model
(these tests are about the phone system, not the replies)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from sipkit import (
    ROOT,
    VOICEBOX,
    Kamailio,
    Proc,
    box_config,
    call,
    silence_wav,
    start_box,
    start_call,
    start_extension,
)

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
    assert first.finish() == 0


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


def test_outbound_call_led_by_an_assistant(kamailio: Kamailio, sipdir: Path) -> None:
    """`voicebox call URI --assistant NAME`: the box calls a phone, scheduling speaks first,
    and with nobody answering back it says goodbye and hangs up. The phone (203) stays silent
    for 30 s: reception's hellos would be turns, and its hang-up at the end of its WAV raced the
    box's silence timer (CI saw "caller hung up")."""
    cfg = box_config(sipdir / "outbound.yaml", None)
    data = yaml.safe_load(cfg.read_text())
    data["speech"] = {"reprompt_after_s": 2.0, "hangup_after_s": 4.0}
    cfg.write_text(yaml.safe_dump(data))
    silent = start_extension(kamailio, "203", silence_wav(sipdir, 30), sipdir)
    try:
        _outbound_call_ends_on_silence(kamailio, silent, cfg)
    finally:
        silent.stop()


def _outbound_call_ends_on_silence(kamailio: Kamailio, phone: Proc, cfg: Path) -> None:
    ext_mark = phone.mark()
    done = subprocess.run(
        [VOICEBOX, "call", f"sip:203@{kamailio.host}", "--assistant", "scheduling", "--standalone",
         "--config", str(cfg), "--llm", "smollm2-135m", "--no-store", "--json"],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "ready" and "call_dialing" in kinds and "call_connected" in kinds
    start = next(e for e in events if e["type"] == "call_start")
    assert start["assistant"] == "scheduling"
    spoken = [e["kind"] for e in events if e["type"] == "audio_start"]
    assert spoken[0] == "greeting" and "phrase" in spoken  # greeting, reprompt, goodbye
    assert next(e for e in events if e["type"] == "call_end")["reason"] == "silence"
    answered = phone.wait_for(lambda e: e["type"] == "call_done", 10, since=ext_mark)
    assert answered["heard_ms"] and answered["heard_ms"][0][0] < 1000, answered
