"""Synthetic callers for tests and benchmarks: espeak-ng (robotic, a hard caller) and Piper
voices, always sent through the phone line, with the true speech boundaries known."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from appliance.audio.pcm import Samples, StreamResampler, rms_dbfs
from appliance.audio.phone_line import LINE_RATE, phone_line
from appliance.errors import AudioError
from appliance.speech.tts import TtsVoice

# what callers say over the box (barge-in tests and benchmark): fricative, plosive and vowel onsets
INTERRUPTIONS = [
    "Sorry, wait a moment.",
    "Stop, that's not what I asked.",
    "Hold on please.",
    "So what about Tuesday?",
    "Fine, thanks.",
    "Can I speak to someone?",
    "How much is it?",
    "Wait.",
]


def espeak(text: str, *, voice: str = "en-us", speed: int = 160) -> tuple[Samples, int]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise AudioError("espeak-ng is not installed (apt install espeak-ng)")
    raw = subprocess.run(
        [exe, "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True
    ).stdout
    with wave.open(io.BytesIO(raw)) as w:
        rate = w.getframerate()
        pcm = w.readframes(w.getnframes())
    return (np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0).astype(np.float32), rate


def piper(tts: TtsVoice, text: str, *, length_scale: float = 1.0) -> tuple[Samples, int]:
    return tts.speak(text, length_scale=length_scale), tts.rate


def trim(x: Samples, rate: int, floor_db: float = -45.0) -> Samples:
    """Cut leading and trailing silence (10 ms windows below `floor_db`)."""
    n = rate // 100
    loud = [i for i in range(0, len(x), n) if rms_dbfs(x[i : i + n]) > floor_db]
    return x[loud[0] : loud[-1] + n] if loud else x[:0]


@dataclass
class CallerScript:
    """Caller audio at 8 kHz (after the phone line) and where each utterance really is."""

    audio: Samples = field(default_factory=lambda: np.zeros(0, np.float32))
    spans_ms: list[tuple[int, int]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    rate: int = LINE_RATE

    def pause(self, ms: int) -> CallerScript:
        self.audio = np.concatenate([self.audio, np.zeros(LINE_RATE * ms // 1000, np.float32)])
        return self

    def say(
        self, speech: tuple[Samples, int], text: str, *, level_db: float = -20.0
    ) -> CallerScript:
        x = trim(*speech)
        line = phone_line(x, speech[1])
        gain = 10 ** ((level_db - rms_dbfs(line)) / 20)
        start = len(self.audio) * 1000 // LINE_RATE
        self.audio = np.concatenate([self.audio, (line * gain).astype(np.float32)])
        self.spans_ms.append((start, len(self.audio) * 1000 // LINE_RATE))
        self.texts.append(text)
        return self

    def frames_16k(self) -> Iterator[Samples]:
        """The script as the call loop feeds a recogniser: 20 ms line frames, resampled to
        16 kHz as one stream."""
        up = StreamResampler(self.rate, 16000)
        n = self.rate // 50
        for i in range(0, len(self.audio), n):
            yield up(self.audio[i : i + n])

    def noise(self, kind: str, ms: int, *, seed: int = 0) -> CallerScript:
        """Non-speech on the line: "cough" (a short burst), "hiss" (line noise), "click"."""
        rng = np.random.default_rng(seed)
        n = LINE_RATE * ms // 1000
        if kind == "hiss":
            x = rng.normal(0, 0.02, n)
        elif kind == "cough":
            env = np.exp(-np.linspace(0, 8, n)) * (1 - np.exp(-np.linspace(0, 60, n)))
            x = rng.normal(0, 0.5, n) * env
        elif kind == "click":
            x = np.zeros(n)
            x[:: max(1, n // 5)] = 0.8
        else:
            raise ValueError(kind)
        line = phone_line(x.astype(np.float32), LINE_RATE)
        self.audio = np.concatenate([self.audio, line])
        return self
