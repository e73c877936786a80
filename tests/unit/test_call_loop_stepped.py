"""The call loop on the stepped clock with a fake for every stage (tests/fakes): no model file,
no onnxruntime, no llama.cpp. Each step is one 20 ms frame; the driver lets the worker and the
mouth finish what a step caused before the next, so every event's `t_ms` follows from the
script and the expected timelines below are exact.

How the numbers come about: the fake voice speaks 20 ms a character (the greeting "Hello, front
desk." lasts 360 ms); audio queued by step t starts playing at t + 20. The scripted recogniser
hears a tone as speech: speaking from t = 620 to 1200 starts speech at 620, and 300 ms of quiet
(`endpoint_ms`) ends it at 1500, when the turn runs (instantly, unless a reply holds).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from fakes import (
    FakeVoice,
    Reply,
    ScriptedAsr,
    ScriptedBrain,
    SteppedCall,
    fake_engine,
    fake_speech,
    field,
    first,
    kinds,
    timeline,
)

from appliance.brain.parts import Message
from appliance.config import Config, parse_config

GREETING = "Hello, front desk."
ANNOUNCEMENT = "Connecting you to sales."
LONG_REPLY = "Our shop opens at nine in the morning and closes at six in the evening."
TO_A_PERSON = "Putting you through to a person now."
HEAVY = ("llama_cpp", "onnxruntime", "vosk", "faster_whisper", "piper")


def make_cfg(**speech: Any) -> Config:
    return parse_config(
        {
            "team": {"entry": "frontdesk"},
            "assistants": [
                {
                    "name": "frontdesk",
                    "title": "Front desk",
                    # the facts the scripted replies state (the grounding check needs them)
                    "system_prompt": "You answer the phone for a phone shop. Hours: nine in "
                    "the morning to six in the evening; closed on Sundays.",
                    "greeting": GREETING,
                    "stay_examples": ["what are your opening hours"],
                    "handoffs": [
                        {
                            "target": "sales",
                            "condition": "the caller wants to buy",
                            "examples": ["buy a new phone"],
                            "announcement": ANNOUNCEMENT,
                        }
                    ],
                },
                {
                    "name": "sales",
                    "title": "Sales",
                    "system_prompt": "You sell phones.",
                    "greeting": "Sales here.",
                },
            ],
            "speech": {
                "endpoint_ms": 300,
                "reprompt_after_s": 1.0,
                "hangup_after_s": 2.0,
                "filler_after_ms": 600,
                **speech,
            },
        },
        "test",
    )


def make_call(
    heard: list[str], replies: list[str | Reply] | None = None, **brain: Any
) -> tuple[SteppedCall, ScriptedBrain, FakeVoice]:
    cfg = make_cfg()
    scripted = ScriptedBrain(replies or [], **brain)
    speech, voice = fake_speech(cfg, ScriptedAsr(heard))
    return SteppedCall(fake_engine(cfg, scripted), speech, scripted), scripted, voice


def first_utterance(call: SteppedCall) -> None:
    """The caller waits for the greeting and speaks from t = 620 to 1200 (ends at 1500)."""
    call.start()
    call.silence(600)
    call.speak(600)


def sounding(call: SteppedCall) -> list[int]:
    """The call times of the steps whose outbound frame carried audio."""
    return [20 * (i + 1) for i, f in enumerate(call.out) if np.any(f)]


def test_the_greeting_plays_at_once_and_for_its_length() -> None:
    call, _, voice = make_call([])
    call.start()
    call.silence(1000)

    assert timeline(call.events, detail="kind") == [
        (0, "call_start", None),
        (0, "reply", None),  # the greeting in the transcript
        (20, "audio_start", "greeting"),
    ]
    assert field(first(call.events, "audio_start"), "text") == GREETING
    assert sounding(call) == list(range(20, 380, 20))  # 360 ms: 18 frames
    assert voice.spoken == [GREETING]


def test_a_turn_is_answered_as_soon_as_the_caller_stops() -> None:
    call, brain, _ = make_call(["What are your opening hours?"], ["We open at nine."])
    first_utterance(call)
    call.silence(1000)

    assert timeline(call.events) == [
        (0, "call_start"),
        (0, "reply"),
        (20, "audio_start"),
        (620, "speech_start"),
        (1500, "speech_end"),
        (1500, "utterance"),
        (1500, "routing"),
        (1500, "first_sentence"),
        (1500, "reply_end"),
        (1500, "reply"),
        (1500, "turn_done"),
        (1520, "audio_start"),
    ]
    utterance = first(call.events, "utterance")
    assert field(utterance, "text") == "What are your opening hours?"
    assert field(utterance, "speculative") is True  # recognised at the pause (t = 1220)
    routing = first(call.events, "routing")
    assert (field(routing, "outcome"), field(routing, "path")) == ("stay", "fast")
    assert field(first(call.events, "audio_start", kind="reply"), "text") == "We open at nine."
    assert sounding(call)[-1] == 1520 + 320 - 20  # "We open at nine." lasts 320 ms
    assert brain.choose_calls == []  # the fast path was sure
    assert [c.assistant for c in brain.reply_calls] == ["frontdesk"]
    assert brain.reply_calls[0].messages[-1] == Message("user", "What are your opening hours?")


def test_barge_in_stops_the_reply_and_keeps_what_the_caller_heard() -> None:
    call, brain, _ = make_call(
        ["When are you open?", "Sorry, on Sundays?"], [LONG_REPLY, "Closed on Sundays."]
    )
    first_utterance(call)
    call.silence(700)  # the reply (1420 ms) starts at 1520
    call.speak(400)  # the caller cuts in at 1920, 400 ms into it
    call.silence(1000)

    only = ("speech_start", "barge_in", "cut_off", "speech_end", "utterance", "audio_start")
    assert timeline(call.events, only, detail="text") == [
        (20, "audio_start", GREETING),
        (620, "speech_start", None),
        (1500, "speech_end", None),
        (1500, "utterance", "When are you open?"),
        (1520, "audio_start", LONG_REPLY),
        (1920, "speech_start", None),
        (1920, "barge_in", None),
        (1920, "cut_off", None),
        (2600, "speech_end", None),
        (2600, "utterance", "Sorry, on Sundays?"),
        (2620, "audio_start", "Closed on Sundays."),
    ]
    assert field(first(call.events, "barge_in"), "heard_ms") == 400
    heard = field(first(call.events, "cut_off"), "heard")
    assert heard == "Our shop opens at"  # 400 of 1420 ms: the first 4 of 15 words
    # the box went quiet at once and stayed quiet until the next answer
    out = sounding(call)
    assert 1900 in out and not [t for t in out if 1920 <= t < 2620]
    # the model is told only what the caller heard of the cut reply
    assert Message("assistant", heard) in brain.reply_calls[1].messages
    assert Message("assistant", LONG_REPLY) not in brain.reply_calls[1].messages


def test_a_slow_reply_gets_one_moment_on_the_stepped_clock() -> None:
    # the reply's first word comes 2 s of call time after the turn began (t = 3500); "one
    # moment" after filler_after_ms = 600 of dead air (t = 2100), playing from 2120 for 380 ms
    call, _, _ = make_call(["Do you repair screens?"], [Reply("Yes, we do.", hold_ms=2000)])
    first_utterance(call)
    call.silence(3000)

    only = ("speech_end", "utterance", "filler", "first_sentence", "turn_done", "audio_start")
    assert timeline(call.events, only, detail="text") == [
        (20, "audio_start", GREETING),
        (1500, "speech_end", None),
        (1500, "utterance", "Do you repair screens?"),
        (2100, "filler", None),
        (2120, "audio_start", "One moment, please."),
        (3500, "first_sentence", "Yes, we do."),
        (3500, "turn_done", None),
        (3520, "audio_start", "Yes, we do."),
    ]
    assert field(first(call.events, "filler"), "waited_ms") == 600
    # a fixed line for the wait: not in the transcript
    assert not [ln for ln in call.loop.conv.lines if ln.text == "One moment, please."]


def test_silence_gets_a_reprompt_then_goodbye_and_the_call_ends() -> None:
    call, _, voice = make_call([])
    call.start()
    end = call.until("call_end")

    only = ("silence", "audio_start", "call_end")
    assert timeline(call.events, only, detail="text") == [
        (20, "audio_start", GREETING),
        (1360, "silence", None),  # 1 s after the greeting's last frame (t = 360)
        (1380, "audio_start", "Are you still there?"),
        (3760, "silence", None),  # 2 s after the reprompt's last frame (t = 1760)
        (3780, "audio_start", call.loop.speech_cfg.goodbye),
        (5120, "call_end", None),  # the goodbye (1340 ms) played out
    ]
    actions = [field(e, "action") for e in call.events if kinds([e]) == ["silence"]]
    assert actions == ["reprompt", "goodbye"]
    assert [field(e, "silent_ms") for e in call.events if kinds([e]) == ["silence"]] == [1000, 2000]
    assert field(end, "reason") == "silence" == call.loop.end_reason
    assert voice.duration_ms(call.loop.speech_cfg.goodbye) == 1340
    # both lines are in the transcript
    said = [ln.text for ln in call.loop.conv.lines if ln.role == "assistant"]
    assert said == [GREETING, "Are you still there?", call.loop.speech_cfg.goodbye]


def test_hanging_up_during_a_slow_reply_cancels_it() -> None:
    call, brain, _ = make_call(["What do you sell?"], [Reply("Phones and cases.", hold_ms=60_000)])
    first_utterance(call)
    call.silence(600)  # t = 1800: the turn began at 1500, its reply is still held
    t0 = time.perf_counter()
    call.hangup()
    took = time.perf_counter() - t0

    only = ("audio_start", "utterance", "reply_end", "turn_done", "call_end")
    assert timeline(call.events, only) == [
        (20, "audio_start"),
        (1500, "utterance"),
        (1800, "reply_end"),
        (1800, "turn_done"),
        (1800, "call_end"),
    ]
    assert field(first(call.events, "reply_end"), "cancelled") is True
    end = first(call.events, "call_end")
    assert (field(end, "reason"), field(end, "turns")) == ("caller hung up", 1)
    assert took < 5.0  # the held reply let go when the turn was cancelled
    assert call.loop.conv.ended and brain.reply_calls[0].text == "Phones and cases."
    cid = call.loop.conv.id
    assert not [t for t in threading.enumerate() if t.name.startswith(f"call-{cid}-")]


def test_an_intercept_answers_instead_of_the_team() -> None:
    call, brain, _ = make_call(
        ["Can I talk to a person?", "What are your opening hours?"], ["We open at nine."]
    )
    asked: list[str] = []

    def person(text: str) -> str | None:
        asked.append(text)
        return TO_A_PERSON if "person" in text else None

    call.loop.intercept = person
    first_utterance(call)
    call.silence(1200)  # the intercept's line plays from 1520 for 720 ms
    call.speak(600)  # 2420 - 3000, ends at 3300
    call.silence(600)

    only = ("utterance", "routing", "turn_done", "audio_start")
    assert timeline(call.events, only, detail="text") == [
        (20, "audio_start", GREETING),
        (1500, "utterance", "Can I talk to a person?"),
        (1500, "routing", None),
        (1520, "audio_start", TO_A_PERSON),
        (3300, "utterance", "What are your opening hours?"),
        (3300, "routing", None),
        (3300, "turn_done", None),
        (3320, "audio_start", "We open at nine."),
    ]
    paths = [
        (field(e, "path"), field(e, "outcome")) for e in call.events if kinds([e]) == ["routing"]
    ]
    assert paths == [("channel", "human"), ("fast", "stay")]
    assert field(first(call.events, "audio_start", text=TO_A_PERSON), "kind") == "phrase"
    assert asked == ["Can I talk to a person?", "What are your opening hours?"]
    assert [c.text for c in brain.reply_calls] == ["We open at nine."]  # the team answered once
    assert call.loop.conv.turn == 2


@pytest.mark.parametrize(
    ("said", "path", "llm_asked"),
    [
        ("I want to buy a new phone.", "fast", 0),  # every keyword of the rule's example
        ("I need a phone.", "llm", 1),  # one keyword: not sure, the router asks the LLM
    ],
)
def test_a_handoff_announces_then_the_target_answers(said: str, path: str, llm_asked: int) -> None:
    call, brain, _ = make_call(
        [said, "How much is it?"],
        ["Sales can help you choose one.", "It is two hundred."],
        choices={"need a phone": "sales"},
        slots={"phone": {"need": "a phone"}},
    )
    first_utterance(call)
    call.silence(1400)  # announcement 1520 - 2000, the reply 2000 - 2600
    call.speak(600)  # 2620 - 3200, ends at 3500
    call.silence(600)

    only = ("utterance", "routing", "slots", "handoff", "turn_done", "audio_start")
    assert timeline(call.events, only, detail="assistant") == [
        (20, "audio_start", "frontdesk"),
        (1500, "utterance", None),
        (1500, "routing", "frontdesk"),
        (1500, "handoff", None),
        (1500, "slots", None),  # after the target's reply: slots never delay its first words
        (1500, "turn_done", "sales"),
        (1520, "audio_start", "frontdesk"),  # the announcement, in the first voice
        (2000, "audio_start", "sales"),
        (3500, "utterance", None),
        (3500, "routing", "sales"),
        (3500, "turn_done", "sales"),
        (3520, "audio_start", "sales"),
    ]
    handoff = first(call.events, "handoff")
    assert (field(handoff, "from"), field(handoff, "to"), field(handoff, "path")) == (
        "frontdesk",
        "sales",
        path,
    )
    assert field(first(call.events, "audio_start", turn=1), "text") == ANNOUNCEMENT
    assert field(first(call.events, "slots"), "slots") == {"need": "a phone"}
    assert len(brain.choose_calls) == llm_asked
    assert [c.assistant for c in brain.reply_calls] == ["sales", "sales"]
    assert any(k.startswith("profile:sales:") for k in brain.prefixes.activated)
    assert call.loop.conv.current == "sales"


@dataclass(frozen=True)
class _Typed:
    """A typed event: `.type` and attributes."""

    type: ClassVar[str] = "audio_start"
    t_ms: int
    kind: str
    text: str


@dataclass(frozen=True)
class _Wired:
    """A typed event read through its wire form (a forwarded conversation step)."""

    type: ClassVar[str] = "conversation_step"
    t_ms: int
    from_assistant: str

    def to_wire(self) -> dict[str, Any]:
        return {"type": "handoff", "t_ms": self.t_ms, "from": self.from_assistant}


def test_event_helpers_read_dicts_and_typed_events() -> None:
    old = {"type": "audio_start", "t_ms": 40, "kind": "reply", "text": "Hi."}
    for ev in (_Typed(40, "reply", "Hi."), old):
        assert kinds([ev]) == ["audio_start"]
        assert timeline([ev], detail="kind") == [(40, "audio_start", "reply")]
        assert field(ev, "text") == "Hi."
        assert field(ev, "missing", None) is None
        with pytest.raises(KeyError):
            field(ev, "missing")
    step = _Wired(60, "frontdesk")
    assert kinds([step, old], only=["handoff"]) == ["handoff"]
    assert field(step, "from") == "frontdesk" == field(step, "from_assistant")


PROBE = """
import sys
sys.path[:0] = {paths!r}
from fakes import kinds
from test_call_loop_stepped import first_utterance, make_call
{extra}
call, _, _ = make_call(["What are your opening hours?"], ["We open at nine."])
first_utterance(call)
call.silence(600)
call.hangup()
assert call.loop.ended.is_set()
assert kinds(call.events, ["audio_start", "call_end"]) == ["audio_start"] * 2 + ["call_end"]
print(" ".join(m for m in {heavy!r} if m in sys.modules))
"""


def heavy_after_a_call(extra: str = "") -> list[str]:
    """The heavy packages a fresh interpreter has loaded after a fake call (and `extra`)."""
    here = Path(__file__).parent
    code = PROBE.format(paths=[str(here), str(here.parent)], extra=extra, heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.split()


def test_a_fake_call_loads_no_model_runtime() -> None:
    assert heavy_after_a_call() == []


def test_the_probe_sees_a_model_runtime() -> None:
    # the same probe when the real embedder's module is imported too: the check above can fail
    assert "onnxruntime" in heavy_after_a_call("import appliance.brain.embeddings")


def test_a_known_caller_hears_their_name_then_the_greeting(tmp_path: Path) -> None:
    from appliance.tools.contacts import Directory

    book = tmp_path / "book.csv"
    book.write_text("name,phone\nBo Ray,5550199\n")
    call, _, _ = make_call([])
    call.loop.engine.contacts = Directory(book)
    call.loop.conv.caller = "<sip:+15550199@pbx.lan>"
    call.start()
    call.silence(3000)
    starts = [e for e in call.events if kinds([e]) == ["audio_start"]]
    said = [(field(e, "kind"), field(e, "text")) for e in starts]
    # the name, synthesized for this call, then the greeting the box keeps ready
    assert said[:2] == [("reply", "Hello Bo Ray, good to hear from you."), ("greeting", GREETING)]
    assert call.loop.conv.slots == {"name": "Bo Ray"}
