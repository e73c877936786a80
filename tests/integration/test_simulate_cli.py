"""`voicebox simulate` as scripts outside the project run it."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from appliance.audio.callers import CallerScript, piper
from appliance.audio.pcm import resample
from appliance.audio.wav import read_wav
from appliance.config import Voice

pytestmark = pytest.mark.real
VOICEBOX = [sys.executable, "-m", "appliance.cli"]


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VOICEBOX, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "not a readable PCM WAV"), (b"RIFF....WAVEfmt garbage" * 3, "not a readable PCM WAV")],
)
def test_a_corrupt_wav_is_a_clear_error_before_any_model_loads(
    tmp_path: Path, content: bytes, message: str
) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    done = run("simulate", "--wav", str(bad), "--json", timeout=20)
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_wav_without_frames_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
    done = run("simulate", "--wav", str(empty), timeout=20)
    assert done.returncode == 1 and "holds no audio" in done.stderr


def test_stereo_44k_caller_is_converted_and_the_json_stream_is_clean(
    tmp_path: Path, speech_models: Any
) -> None:
    tts = speech_models.voice(Voice())
    text = "I would like to book an appointment for Tuesday."
    script = CallerScript().pause(5500).say(piper(tts, text), text).pause(2500)
    x = resample(script.audio, script.rate, 44100)
    stereo = np.stack([x, x * 0.5], axis=1)
    wav = tmp_path / "caller.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes((np.clip(stereo, -1, 1) * 32767).astype("<i2").tobytes())
    out = tmp_path / "box.wav"
    done = run(
        "simulate", "--wav", str(wav), "--llm", "smollm2-135m", "--no-store", "--json",
        "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 channel(s) at 44100 Hz, converted" in done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]  # only JSON on stdout
    assert all(isinstance(e["type"], str) and isinstance(e["t_ms"], int) for e in events)
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "call_end" and "utterance" in kinds
    said = next(e for e in events if e["type"] == "utterance")
    assert "appointment" in said["text"].lower()
    handoff = next(e for e in events if e["type"] == "handoff")
    assert (handoff["from"], handoff["to"]) == ("frontdesk", "scheduling")
    assert any(e["type"] == "reply" and e["assistant"] == "scheduling" for e in events)
    times = [e["t_ms"] for e in events]
    assert times == sorted(times)
    box = read_wav(out)
    assert box.rate == 8000 and box.duration_s > 8.0
    assert float(np.abs(box.samples).max()) > 0.1
