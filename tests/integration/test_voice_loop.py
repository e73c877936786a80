"""The call loop's behaviour with real speech models (whisper, Piper) and the tiny SmolLM2:
handoff announcements, barge-in, silences, hang-up, noise. Routing quality is measured with the
1.5B model in test_voice_calls.py; here the LLM only has to be real and fast."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from appliance.audio.callers import CallerScript, piper
from appliance.audio.pcm import rms_dbfs
from appliance.audio.wav import WavAudio
from appliance.config import load_config
from appliance.simulate import SimulationResult, simulate
from appliance.speech.voices import SpeechModels
from appliance.store import Store

pytestmark = pytest.mark.real
GREETING_MS = 5500  # the starter greeting lasts about 4.5 s: callers speak after it


@contextmanager
def recording(engine: Any, path: Path) -> Iterator[Store]:
    """A real SQLite store listening to every conversation of `engine` for a while."""
    db = Store(path)
    engine.listeners.append(db.record)
    try:
        yield db
    finally:
        engine.listeners.remove(db.record)
        db.close()


@pytest.fixture()
def store(smol_engine: Any, tmp_path: Path) -> Iterator[Store]:
    with recording(smol_engine, tmp_path / "calls.db") as db:
        yield db


def say(speech: SpeechModels, text: str) -> tuple[np.ndarray, int]:
    return piper(speech.voice(speech.cfg.assistants[0].voice), text, length_scale=1.1)


def call(engine: Any, speech: SpeechModels, script: CallerScript, **kw: Any) -> SimulationResult:
    return simulate(engine, speech, WavAudio(script.audio, script.rate, 1), **kw)


def first(result: SimulationResult, etype: str, /, **match: Any) -> dict[str, Any]:
    for e in result.events:
        if e["type"] == etype and all(e.get(k) == v for k, v in match.items()):
            return e
    raise AssertionError(f"no {etype} {match} in {[e['type'] for e in result.events]}")


def window(result: SimulationResult, start_ms: int, end_ms: int) -> np.ndarray:
    r = result.rate
    return result.box_audio[start_ms * r // 1000 : end_ms * r // 1000]


def transcribe(speech: SpeechModels, audio: np.ndarray, rate: int) -> str:
    from appliance.audio.pcm import resample

    return speech.asr("en").recognise(resample(audio, rate, 16000))[0]  # type: ignore[attr-defined,no-any-return]


@pytest.mark.llm15
def test_handoff_mid_call_plays_the_announcement_then_the_target_answers(
    qwen_engine: Any, speech_models: SpeechModels, tmp_path: Path
) -> None:
    script = (
        CallerScript().pause(GREETING_MS).say(say(speech_models, "My name is Peter Brown."), "")
    )
    script.pause(3000).say(say(speech_models, "I need to book a visit for Thursday morning."), "")
    script.pause(2000)
    with recording(qwen_engine, tmp_path / "calls.db") as store:
        result = call(qwen_engine, speech_models, script)
        cid = first(result, "call_start")["conversation"]
        saved = store.conversation(cid)

    handoff = first(result, "handoff")
    assert (handoff["from"], handoff["to"]) == ("frontdesk", "scheduling")
    announce = first(result, "audio_start", kind="announcement")
    target_reply = first(result, "audio_start", kind="reply", assistant="scheduling")
    assert announce["t_ms"] < target_reply["t_ms"]
    # the announcement starts soon after the caller stopped (true end known from the script),
    # well before the target could have prepared a reply (about 3.3 s): it does not wait for it.
    # Its latency target (400 ms median) is bench/bench_voice.py's; here the turn may also wait
    # for the first turn's slot extraction (p95 1.5 s): CI saw 1098 ms against a 1 s bound
    end_of_speech = script.spans_ms[1][1]
    assert announce["t_ms"] - end_of_speech < 2500, announce["t_ms"] - end_of_speech
    heard = transcribe(
        speech_models, window(result, announce["t_ms"], target_reply["t_ms"]), result.rate
    )
    assert "scheduling" in heard.lower(), heard
    assert [(h["from_assistant"], h["to_assistant"]) for h in saved["handoffs"]] == [
        ("frontdesk", "scheduling")
    ]
    assert any(t["role"] == "caller" and "Thursday" in t["text"] for t in saved["turns_list"])
    assert saved["slots"].get("name") == "Peter Brown"


def test_barge_in_stops_playback_and_generation_and_records_the_cut(
    smol_engine: Any, speech_models: SpeechModels, store: Store
) -> None:
    question = say(speech_models, "What does your company actually do? Tell me everything.")
    # the caller cuts in 3 s after the question: the reply must be playing by then (the final
    # transcript takes 0.5-1.2 s on 2 cores, the first sentence and its voice about 1.3 s; at
    # 1.8 s the caller once spoke before any reply audio, so there was nothing to barge in on)
    script = CallerScript().pause(GREETING_MS).say(question, "").pause(3000)
    script.say(say(speech_models, "Sorry, wait a moment."), "").pause(2500)
    result = call(smol_engine, speech_models, script)

    onset = script.spans_ms[1][0]
    seen = [(e["t_ms"], e["type"], e.get("text", "")[:30]) for e in result.events]
    barge = next((e for e in result.events if e["type"] == "barge_in" and e["t_ms"] >= onset), {})
    assert barge, (onset, seen)
    assert barge["t_ms"] - onset <= 200, (barge["t_ms"] - onset, onset, seen)
    # nothing of the interrupted reply is played after the barge-in
    after = [e for e in result.events if e["type"] == "audio_start" and e["t_ms"] > barge["t_ms"]]
    resume_ms = after[0]["t_ms"] if after else barge["t_ms"] + 1000
    assert rms_dbfs(window(result, barge["t_ms"] + 20, resume_ms)) < -60
    ends = [e for e in result.events if e["type"] == "reply_end" and e["turn"] == 1]
    if ends and ends[0]["t_ms"] > barge["t_ms"]:  # generation was still running: cancelled
        assert ends[0]["cancelled"] and ends[0]["t_ms"] - barge["t_ms"] <= 200
    cid = first(result, "call_start")["conversation"]
    turns = store.conversation(cid)["turns_list"]
    cut = [t for t in turns if t["role"] == "assistant" and t["turn"] == 1]
    assert cut and cut[0]["cut_off"] == 1


def test_silence_reprompts_then_says_goodbye_and_ends(smol_engine: Any) -> None:
    cfg = load_config()
    cfg.speech.reprompt_after_s = 3.0
    cfg.speech.hangup_after_s = 7.0
    speech = SpeechModels(cfg)
    script = CallerScript().pause(30000)
    result = call(smol_engine, speech, script)

    reprompt = first(result, "silence", action="reprompt")
    goodbye = first(result, "silence", action="goodbye")
    end = first(result, "call_end")
    assert end["reason"] == "silence"
    assert reprompt["t_ms"] < goodbye["t_ms"] < end["t_ms"] < 30000
    said = first(result, "audio_start", text=cfg.speech.reprompt)
    heard = transcribe(speech, window(result, said["t_ms"], said["t_ms"] + 2000), result.rate)
    assert "there" in heard.lower(), heard


def test_caller_hanging_up_mid_reply_ends_the_call_cleanly(
    smol_engine: Any, speech_models: SpeechModels, store: Store
) -> None:
    script = CallerScript().pause(GREETING_MS)
    script.say(say(speech_models, "What does your company actually do?"), "").pause(8000)
    speech_end = script.spans_ms[0][1]
    probe = call(smol_engine, speech_models, script)
    reply_at = first(probe, "audio_start", kind="reply")["t_ms"]
    result = call(smol_engine, speech_models, script, hangup_at_ms=reply_at + 300)
    end = first(result, "call_end")
    assert end["reason"] == "caller hung up"
    assert end["t_ms"] < reply_at + 1000 and end["t_ms"] > speech_end
    assert result.events[-1]["type"] == "call_end"
    cid = first(result, "call_start")["conversation"]
    assert store.conversation(cid)["ended_at"] is not None


def test_coughs_hiss_and_clicks_do_not_make_turns(
    smol_engine: Any, speech_models: SpeechModels
) -> None:
    script = CallerScript().pause(GREETING_MS).noise("cough", 300, seed=1).pause(1500)
    script.noise("hiss", 2000, seed=2).pause(1500).noise("click", 400).pause(1500)
    script.noise("cough", 250, seed=3).pause(2000)
    result = call(smol_engine, speech_models, script)
    kinds = [e["type"] for e in result.events]
    assert "routing" not in kinds and "handoff" not in kinds, result.events
    assert not [e for e in result.events if e["type"] == "reply" and e["turn"] > 0]


def slow_brain(engine: Any, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Replies start `seconds` late (as under the load of other calls)."""
    real_stream = engine.stream_reply

    def slow_stream(*args: Any, **kw: Any) -> Iterator[str]:
        time.sleep(seconds)
        yield from real_stream(*args, **kw)

    monkeypatch.setattr(engine, "stream_reply", slow_stream)


def test_a_slow_turn_gets_a_one_moment_instead_of_dead_air(
    smol_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The brain is made slow (as under the load of other calls): the caller hears a filler."""
    cfg = load_config()
    cfg.speech.filler_after_ms = 500
    speech = SpeechModels(cfg)
    slow_brain(smol_engine, monkeypatch, 1.5)
    script = CallerScript().pause(GREETING_MS)
    script.say(say(speech, "What does your company actually do?"), "").pause(6000)
    result = call(smol_engine, speech, script)
    filler = first(result, "filler")
    assert filler["waited_ms"] >= 500
    moment = first(result, "audio_start", text=cfg.speech.one_moment)
    reply = first(result, "audio_start", kind="reply")
    assert moment["t_ms"] <= reply["t_ms"]
    assert len([e for e in result.events if e["type"] == "filler"]) == 1


def test_a_long_wait_after_an_announcement_keeps_the_caller_company(
    smol_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four calls on two cores can keep the target's reply waiting for seconds after the
    handoff announcement: "one moment" follows the announcement, then again every 4 s."""
    cfg = load_config()
    cfg.speech.filler_after_ms = 500
    speech = SpeechModels(cfg)
    slow_brain(smol_engine, monkeypatch, 8.0)
    script = CallerScript().pause(GREETING_MS)
    script.say(say(speech, "I'd like to book an appointment for Tuesday."), "").pause(14000)
    result = call(smol_engine, speech, script)
    announce = first(result, "audio_start", kind="announcement")
    reply = first(result, "audio_start", kind="reply")
    moments = [
        e for e in result.events
        if e["type"] == "audio_start" and e["text"] == cfg.speech.one_moment
    ]  # fmt: skip
    assert len(moments) >= 2, [e["type"] for e in result.events]
    assert announce["t_ms"] < moments[0]["t_ms"] < moments[1]["t_ms"] < reply["t_ms"]
    assert moments[1]["t_ms"] - moments[0]["t_ms"] >= 4000
