"""The box on the office phone system, end to end: kamailio on loopback as the PBX, the daemon
(`voicebox run`, the 1.5B model) registered as extension 100, test callers (`voicebox call`) and
people's phones (`voicebox extension`) as separate processes. Heard audio is transcribed."""

from __future__ import annotations

import re
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sipkit import GREETING_MS, Kamailio, Proc, Wavs, call, check_media, transcribe

pytestmark = [pytest.mark.e2e, pytest.mark.llm15]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def test_registered_box_answers_and_hands_off_to_scheduling(
    box: Proc, kamailio: Kamailio, wavs: Wavs, speech_models: Any, sipdir: Path
) -> None:
    reg = box.of("registration")
    assert reg and reg[-1]["state"] == "registered" and reg[-1]["account"].startswith("sip:100@")
    # the caller stays 18 s after speaking: the announcement (about 2.5 s), a "one moment" and
    # the scheduling assistant's first sentence must all be heard; on 2 cores, with the caller's
    # process beside the box, that sentence starts 8-10 s after the caller stops (the target's
    # prefill of the handoff note, history and office facts: issue 16); CI's call ended
    # before the reply with 9 s and, once, with 14 s
    said = "I'd like to book an appointment for Tuesday."
    wav = wavs.script("book", [(GREETING_MS, said)], 18000)
    rec = sipdir / "book-heard.wav"
    mark = box.mark()
    rc, events = call(f"sip:100@{kamailio.host}", wav, rec, "--tail", "1")
    assert rc == 0, events
    assert [e["type"] for e in events if e["type"] in ("connected", "done")] == [
        "connected",
        "done",
    ]
    box.wait_for(lambda e: e["type"] == "call_end", 30, since=mark)
    handoff = box.of("handoff", mark)
    assert [h["to"] for h in handoff] == ["scheduling"]
    reply = next(e for e in box.of("reply", mark) if e["assistant"] == "scheduling")

    heard = transcribe(speech_models, rec)
    assert words(handoff[0]["announcement"]) <= words(heard) | {"i'll", "let"}, heard
    overlap = words(reply["text"]) & words(heard)
    timeline = [(e.get("t_ms"), e["type"], e.get("text")) for e in box.events[mark:]]
    assert len(overlap) >= len(words(reply["text"])) // 2, (reply["text"], heard, timeline)

    conv_id = next(e["conversation"] for e in box.of("call_start", mark))
    db = sqlite3.connect(sipdir / "box.db")
    row = db.execute(
        "SELECT channel, caller, entry_assistant, final_assistant, end_reason, turns "
        "FROM conversations WHERE id=?",
        (conv_id,),
    ).fetchone()
    assert row[0] == "sip" and "phone@" in row[1]
    assert row[2:5] == ("frontdesk", "scheduling", "caller hung up") and row[5] >= 1
    hops = db.execute(
        "SELECT from_assistant, to_assistant FROM handoffs WHERE conversation_id=?", (conv_id,)
    ).fetchall()
    assert hops == [("frontdesk", "scheduling")]
    said = db.execute(
        "SELECT text FROM turns WHERE conversation_id=? AND role='caller'", (conv_id,)
    ).fetchall()
    assert "appointment" in said[0][0].lower()
    check_media(box.of("call_ended", mark)[0])


def test_caller_hanging_up_mid_reply_ends_the_call_cleanly(
    box: Proc, kamailio: Kamailio, wavs: Wavs, sipdir: Path
) -> None:
    text = "Hi, can you tell me about your pricing and the packages you offer?"
    wav = wavs.script("hangup", [(GREETING_MS, text)], 1200)
    mark = box.mark()
    rc, events = call(f"sip:100@{kamailio.host}", wav, sipdir / "hangup.wav", "--tail", "1.5")
    assert rc == 0
    end = box.wait_for(lambda e: e["type"] == "call_end", 30, since=mark)
    assert end["reason"] == "caller hung up"
    assert box.of("utterance", mark), "the box heard the caller"
    assert not box.of("error", mark)
    # the box was still busy with its answer when the caller left: the turn was not done yet
    # when the caller's BYE arrived, or the caller still heard the reply as it hung up
    gone = box.wait_for(lambda e: e["type"] == "call_ended", 10, since=mark)["wall"]
    done_before = [e for e in box.of("turn_done", mark) if e["wall"] < gone]
    done = next(e for e in events if e["type"] == "done")
    heard, rec_ms = done["heard_ms"], done["recorded_s"] * 1000
    spoken = [e for e in box.of("audio_start", mark) if e["wall"] < gone]
    talking = bool(heard) and heard[-1][1] >= rec_ms - 500 and spoken[-1]["kind"] == "reply"
    assert not done_before or talking, (done_before, heard, rec_ms, spoken[-1:])
    # and it answers the next call
    rc2, events2 = call(
        f"sip:100@{kamailio.host}", wavs.script("short", [(500, "")], 500),
        sipdir / "after.wav", "--tail", "1",
    )  # fmt: skip
    assert rc2 == 0 and any(e["type"] == "connected" for e in events2)


def test_invite_from_an_address_that_is_not_allowed_is_refused(
    box: Proc, wavs: Wavs, sipdir: Path
) -> None:
    port = next(e for e in box.of("ready"))["address"].rsplit(":", 1)[1]
    mark = box.mark()
    rc, events = call(
        f"sip:100@127.0.0.1:{port}", wavs.script("scan", [(500, "")], 500), sipdir / "scan.wav",
        "--bind", "127.0.0.2", "--tail", "0",
    )  # fmt: skip
    assert rc == 1
    gone = next(e for e in events if e["type"] == "disconnected")
    assert gone["code"] == 403
    rejected = box.wait_for(lambda e: e["type"] == "call_rejected", 10, since=mark)
    assert rejected["source"].startswith("127.0.0.2") and rejected["code"] == 403
    assert not box.of("call_start", mark)


def test_warm_transfer_briefs_the_person_then_connects_the_caller(
    box: Proc, kamailio: Kamailio, reception: Proc, wavs: Wavs, speech_models: Any, sipdir: Path
) -> None:
    wav = wavs.script(
        "person",
        [(GREETING_MS, "Hi, I'm Anna Berg, can I talk to a real person please?")],
        30000,
    )
    rec = sipdir / "person-heard.wav"
    mark, ext_mark = box.mark(), reception.mark()
    rc, _events = call(f"sip:100@{kamailio.host}", wav, rec, "--tail", "0")
    assert rc == 0
    done = box.wait_for(lambda e: e["type"] == "transfer_done", 5, since=mark)
    # sip.warm_finish defaults to bridge: the box connects the caller to the person itself
    assert done["human"] == "reception" and done["mode"] == "bridge"
    incoming = reception.wait_for(lambda e: e["type"] == "incoming", 5, since=ext_mark)
    # who the caller is and what they want
    assert "anna" in incoming["summary"].lower(), incoming
    assert "person" in incoming["summary"].lower(), incoming
    asked = box.of("human_requested", mark)[0]
    after = [e for e in box.of("reply", mark) if e["wall"] > asked["wall"]]
    # the fixed phrase is in the transcript (total_ms 0: nothing generated); no LLM reply
    assert [e["text"] for e in after] == ["I'm connecting you to the office manager. One moment."]
    assert all(e["total_ms"] == 0.0 for e in after), "no LLM reply"
    heard = transcribe(speech_models, rec).lower()
    assert "connecting you to the office manager" in heard, heard
    assert "this is reception" in heard, heard
    # the person heard the box's summary before the caller was put through
    person_calls = reception.of("call_done", ext_mark)
    assert person_calls and person_calls[0]["heard_ms"], person_calls


def test_warm_transfer_nobody_answers_returns_the_caller_to_the_assistant(
    box: Proc, kamailio: Kamailio, oncall: Proc, wavs: Wavs, speech_models: Any, sipdir: Path
) -> None:
    wav = wavs.script(
        "oncall",
        [(GREETING_MS, "Our network is down. I need to speak to the technician on call.")],
        16000,
    )  # fmt: skip
    rec = sipdir / "oncall-heard.wav"
    mark, ext_mark = box.mark(), oncall.mark()
    t0 = time.monotonic()
    rc, _ = call(f"sip:100@{kamailio.host}", wav, rec, "--tail", "0")
    assert rc == 0
    assert oncall.of("incoming", ext_mark), "the on-call phone rang"
    failed = box.wait_for(lambda e: e["type"] == "transfer_failed", 5, since=mark)
    assert failed["human"] == "oncall" and "no answer" in failed["reason"]
    assert time.monotonic() - t0 > 6
    said = [e["text"].lower() for e in box.of("reply", mark)]
    assert any("couldn't reach the technician on call" in t for t in said), said
    # what the caller heard: the words, not the contraction (Piper samples each take and
    # tiny.en once heard "couldn't reach" as "could have reached")
    heard = transcribe(speech_models, rec).lower()
    assert "technician on call" in heard and "reach" in heard and "still here" in heard, heard
    assert not box.of("transfer_done", mark)


def test_malformed_sip_does_not_hurt_the_box(
    box: Proc, kamailio: Kamailio, wavs: Wavs, sipdir: Path
) -> None:
    port = int(next(e for e in box.of("ready"))["address"].rsplit(":", 1)[1])
    junk = [
        b"INVITE garbage\r\n\r\n",
        b"\x00\xff" * 700,
        b"INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: nonsense\r\nContent-Length: 99999\r\n\r\nv=0",
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for data in junk:
            s.sendto(data, ("127.0.0.1", port))
    time.sleep(1)
    assert box.proc.poll() is None
    rc, events = call(
        f"sip:100@{kamailio.host}", wavs.script("junk", [(500, "")], 500), sipdir / "junk.wav",
        "--tail", "0",
    )  # fmt: skip
    assert rc == 0 and any(e["type"] == "connected" for e in events)
