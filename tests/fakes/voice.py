"""A voice that says nothing intelligible: a quiet tone whose length is proportional to the text
(whole 20 ms frames), at the requested rate. Implements `TtsVoice` (appliance/speech/tts.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping

import numpy as np

from appliance.audio.pcm import FRAME_MS, Samples
from appliance.config import Config
from appliance.speech.asr import AsrModel
from appliance.speech.voices import SpeechModels

MS_PER_CHAR = 20


class FakeVoice:
    def __init__(self, *, rate: int = 22050, ms_per_char: int = MS_PER_CHAR) -> None:
        self.rate = rate
        self.ms_per_char = ms_per_char
        self.spoken: list[str] = []  # every text synthesized, in order
        self._lock = threading.Lock()

    def duration_ms(self, text: str, length_scale: float = 1.0) -> int:
        """How long `text` lasts: `ms_per_char` a character, rounded up to whole frames."""
        ms = len(text.strip()) * self.ms_per_char * length_scale
        return int(-(-ms // FRAME_MS)) * FRAME_MS

    def speak(self, text: str, *, length_scale: float = 1.0, rate: int | None = None) -> Samples:
        out_rate = rate or self.rate
        with self._lock:
            self.spoken.append(text)
        n = out_rate * self.duration_ms(text, length_scale) // 1000
        t = np.arange(n, dtype=np.float32) / out_rate
        return (0.05 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)

    def synthesize(
        self, text: str, *, length_scale: float = 1.0, rate: int | None = None
    ) -> Iterator[Samples]:
        if text.strip():
            yield self.speak(text, length_scale=length_scale, rate=rate)


def fake_speech(
    cfg: Config, asr: AsrModel, voice: FakeVoice | None = None
) -> tuple[SpeechModels, FakeVoice]:
    """The box's speech models with `asr` for every language and `voice` for every assistant."""
    voice = voice or FakeVoice()
    asr_models: Mapping[str, AsrModel] = {c.model: asr for c in cfg.speech.asr.values()}
    voices = {a.voice.model: voice for a in cfg.assistants}
    return SpeechModels(cfg, asr_models=asr_models, voices=voices), voice
