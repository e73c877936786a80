"""A scripted recogniser: loud frames are speech, and each utterance is "heard" as the next
scripted text. Implements `AsrModel` and `AsrStream` (appliance/speech/asr.py).

Endpointing mirrors the Silero endpointer's events on 20 ms frames (one `feed` is one frame):
`start` at the first loud frame, `pause` at the first quiet one after speech, `resume` when
speech comes back, `end` after `endpoint_ms` of quiet frames. A frame is loud when its median
absolute sample is above `threshold` (the resampler's 4 ms lag leaks a little of the previous
frame into each one: a median ignores it).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from appliance.audio.pcm import FRAME_MS, Samples
from appliance.speech.asr import AsrEvent, AsrStream, Transcript


@dataclass(frozen=True)
class Heard:
    """What the recogniser makes of one utterance."""

    text: str
    confidence: float = 0.9


class ScriptedAsr:
    """The model: one script shared by the streams it opens (utterances in call order)."""

    backend = "scripted"

    def __init__(self, script: Iterable[str | Heard] = (), *, threshold: float = 0.01) -> None:
        self.script: deque[Heard] = deque(h if isinstance(h, Heard) else Heard(h) for h in script)
        self.threshold = threshold
        self.transcribed: list[str] = []  # every transcribe() answer, speculative ones too
        self._lock = threading.Lock()

    def add(self, *lines: str | Heard) -> None:
        with self._lock:
            self.script.extend(h if isinstance(h, Heard) else Heard(h) for h in lines)

    def next_heard(self) -> Heard:
        with self._lock:
            return self.script.popleft() if self.script else Heard("", 0.0)

    def open_stream(self, *, endpoint_ms: int) -> AsrStream:
        return ScriptedStream(self, endpoint_ms)


class ScriptedStream:
    backend = "scripted"

    def __init__(self, model: ScriptedAsr, endpoint_ms: int) -> None:
        self.model = model
        self.endpoint_ms = endpoint_ms
        self.t_ms = 0
        self._speaking = False
        self._voiced = 0
        self._quiet = 0
        self._heard = Heard("", 0.0)

    @property
    def speaking(self) -> bool:
        return self._speaking

    def _loud(self, x: Samples) -> bool:
        return len(x) > 0 and float(np.median(np.abs(x))) > self.model.threshold

    def _event(self, kind: str) -> AsrEvent:
        h = self._heard
        return AsrEvent(
            kind, self.t_ms, text=h.text, speech_ms=self._voiced * FRAME_MS, confidence=h.confidence
        )

    def feed(self, x16k: Samples) -> list[AsrEvent]:
        self.t_ms += FRAME_MS
        loud = self._loud(x16k)
        if not self._speaking:
            if not loud:
                return []
            self._speaking, self._voiced, self._quiet = True, 1, 0
            self._heard = self.model.next_heard()
            return [self._event("start")]
        if loud:
            self._voiced += 1
            was_quiet, self._quiet = self._quiet, 0
            return [self._event("resume")] if was_quiet else []
        self._quiet += 1
        if self._quiet * FRAME_MS >= self.endpoint_ms:
            self._speaking = False
            return [self._event("end")]
        return [self._event("pause")] if self._quiet == 1 else []

    def transcribe(self, event: AsrEvent) -> Transcript:
        self.model.transcribed.append(event.text)
        return Transcript(event.text, event.confidence, event.speech_ms, 0.0, self.backend)
