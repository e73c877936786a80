"""The speech models for real: whisper behind the VAD endpointer, Vosk (Korean model) streaming
with partials and tuned endpointing, Piper synthesis and the phrase cache."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from appliance.audio.callers import CallerScript, espeak, piper
from appliance.config import Voice
from appliance.errors import ModelError, SpeechError
from appliance.models import model_path
from appliance.speech.asr import AsrEvent, AsrStream
from appliance.speech.vosk_asr import VoskModel, tuned_copy
from appliance.speech.wer import wer

pytestmark = pytest.mark.real
KOREAN = "안녕하세요 예약을 하고 싶습니다"


def stream_events(stream: AsrStream, script: CallerScript) -> list[AsrEvent]:
    return [e for frame in script.frames_16k() for e in stream.feed(frame)]


@pytest.fixture(scope="module")
def vosk_model(tmp_path_factory: pytest.TempPathFactory) -> VoskModel:
    try:
        folder = model_path("vosk-ko")
    except ModelError as err:
        pytest.fail(f"{err} (make test installs vosk-ko)")
    return VoskModel(folder, cache=tmp_path_factory.mktemp("vosk-cache"))


@pytest.mark.parametrize("endpoint_ms", [300, 800])
def test_whisper_stream_ends_the_utterance_after_the_configured_silence(
    speech_models: Any, endpoint_ms: int
) -> None:
    tts = speech_models.voice(Voice())
    text = "I would like to book an appointment for Tuesday."
    script = CallerScript().pause(500).say(piper(tts, text), text).pause(2000)
    stream = speech_models.asr("en").open_stream(endpoint_ms=endpoint_ms)
    events = stream_events(stream, script)
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds.count("end") == 1
    end = next(e for e in events if e.kind == "end")
    delay = end.t_ms - script.spans_ms[0][1]
    assert endpoint_ms - 100 <= delay <= endpoint_ms + 200, delay
    assert wer([text], [stream.transcribe(end).text]) <= 0.1


def test_whisper_speculative_pause_transcript_matches_the_final(speech_models: Any) -> None:
    """The loop answers from the transcript started at the first silent chunk (while the hangover
    runs): it must say what the final recognition says. Piper's voice differs on every run and
    whisper tiny now and then hears a cut-off last word differently ("an error" / "an air",
    about 1 utterance in 20-40 here), so two of three utterances must match exactly."""
    tts = speech_models.voice(Voice())
    same = 0
    for text in (
        "Our printer keeps jamming and shows an error.",
        "I need a technician for the heating system.",
        "We are looking for a quote on your premium package.",
    ):
        script = CallerScript().pause(500).say(piper(tts, text), text).pause(1500)
        stream = speech_models.asr("en").open_stream(endpoint_ms=300)
        events = stream_events(stream, script)
        last_pause = [e for e in events if e.kind == "pause"][-1]
        end = next(e for e in events if e.kind == "end")
        assert last_pause.t_ms < end.t_ms
        guess = stream.transcribe(last_pause).text
        assert wer([text], [guess]) <= 0.3, guess  # a word may differ, not the sentence
        same += guess == stream.transcribe(end).text
    assert same >= 2


def test_vosk_tuned_copy_rewrites_only_the_endpoint_rules(tmp_path: Path) -> None:
    folder = tuned_copy(model_path("vosk-ko"), 400, tmp_path)
    conf = (folder / "conf" / "model.conf").read_text()
    assert "--endpoint.rule2.min-trailing-silence=0.40" in conf
    assert "--endpoint.rule3.min-trailing-silence=0.60" in conf
    assert "--endpoint.rule4.min-trailing-silence=0.80" in conf
    assert "--beam=10.0" in conf
    assert (folder / "am").is_symlink() and (folder / "graph").is_symlink()
    with pytest.raises(SpeechError, match="not a Vosk model"):
        tuned_copy(tmp_path, 400, tmp_path / "x")


def test_vosk_streams_partials_ends_and_reuses_its_recognizer(vosk_model: VoskModel) -> None:
    speech = espeak(KOREAN, voice="ko")
    script = CallerScript().pause(500).say(speech, KOREAN).pause(7000)
    script.say(speech, KOREAN).pause(7000)
    stream = vosk_model.open_stream(endpoint_ms=300)
    t0 = time.perf_counter()
    events = stream_events(stream, script)
    elapsed = time.perf_counter() - t0
    kinds = [e.kind for e in events]
    assert kinds.count("start") == 2 and kinds.count("end") == 2, kinds
    assert kinds.count("partial") >= 2  # streaming results while the caller speaks
    first_end = kinds.index("end")
    assert kinds.index("partial") < first_end
    ends = [e for e in events if e.kind == "end"]
    assert all(e.text and e.confidence > 0.3 and e.speech_ms > 500 for e in ends), ends
    assert elapsed < len(script.audio) / script.rate  # faster than real time


def test_vosk_endpoint_delay_follows_the_config(vosk_model: VoskModel) -> None:
    script = CallerScript().pause(500).say(espeak(KOREAN, voice="ko"), KOREAN).pause(8000)
    delays = {}
    for ms in (300, 2000):
        events = stream_events(vosk_model.open_stream(endpoint_ms=ms), script)
        end = next(e for e in events if e.kind == "end")
        delays[ms] = end.t_ms - script.spans_ms[0][1]
    # With espeak's Korean the decoder's end time varies a lot between recognizers (a 300 ms
    # setting ended 1.3 to 5.4 s after the speech in 6 runs), so only the bound the rules
    # guarantee is asserted: the 2000 ms setting never ends before 2 s of trailing silence.
    assert delays[2000] >= 2000, delays
    assert delays[300] > 0, delays


def test_piper_speaks_at_the_line_rate_with_the_assistants_speaking_rate(
    speech_models: Any,
) -> None:
    tts = speech_models.voice(Voice())
    text = "Thank you, we will call you back tomorrow."
    slow = tts.speak(text, length_scale=1.4, rate=8000)
    fast = tts.speak(text, length_scale=0.8, rate=8000)
    assert len(slow) > 1.2 * len(fast)  # 1.75x nominal; Piper's durations are sampled
    wide = tts.speak(text, rate=16000)
    narrow = tts.speak(text, rate=8000)  # Piper's durations vary a little from run to run
    assert 0.8 < (len(wide) / 16000) / (len(narrow) / 8000) < 1.25
    back = speech_models.asr("en").recognise(tts.speak(text, rate=16000))[0]
    assert wer([text], [back]) <= 0.1


def test_fixed_phrases_are_synthesized_once_and_kept(speech_models: Any) -> None:
    cfg = speech_models.cfg
    frontdesk = cfg.assistant(cfg.team.entry)
    for text in (frontdesk.greeting, cfg.speech.one_moment, frontdesk.handoffs[0].announcement):
        assert speech_models.has_phrase(frontdesk.voice, text)
    a = speech_models.phrase(frontdesk.voice, frontdesk.greeting)
    assert speech_models.phrase(frontdesk.voice, frontdesk.greeting) is a
    assert len(a) / speech_models.rate > 2.0
    assert float(np.abs(a).max()) > 0.1
