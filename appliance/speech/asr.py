"""The recognition interface both backends implement, and what it produces.

A stream belongs to one call. `feed()` takes audio at 16 kHz (any length: 20 ms frames from the
line) and returns events in order: `start` (speech began: barge-in uses it), `partial` (text so
far, where the backend has it), `pause` (speech stopped, the endpointer's hangover is running:
a chance to recognise speculatively), `resume`, `end` (the utterance is over). `transcribe()`
turns a `pause` or `end` event into text; it blocks, so it never runs on a media thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from appliance.audio.pcm import Samples

ASR_RATE = 16000


@dataclass
class AsrEvent:
    kind: str  # start | partial | pause | resume | end
    t_ms: int
    text: str = ""
    audio: Samples | None = None
    speech_ms: int = 0
    confidence: float = 0.0  # backends that recognise while streaming (vosk)


@dataclass
class Transcript:
    text: str
    confidence: float  # 0..1
    speech_ms: int
    asr_ms: float
    backend: str
    language: str = ""  # set when the language check heard another team language

    def joined(self, later: Transcript) -> Transcript:
        """This utterance and the one the caller went on with, heard as one (confidence weighted
        by speech: a short unsure fragment must not sink a long clear sentence)."""
        total = max(1, self.speech_ms + later.speech_ms)
        conf = (self.confidence * self.speech_ms + later.confidence * later.speech_ms) / total
        return Transcript(
            f"{self.text} {later.text}".strip(),
            conf,
            self.speech_ms + later.speech_ms,
            self.asr_ms + later.asr_ms,
            later.backend,
            later.language,
        )

    def usable(self, *, min_speech_ms: int, min_confidence: float) -> str | None:
        """None when this is something to answer; otherwise why it is ignored."""
        words = re.findall(r"[^\W_]+", self.text)
        if not words:
            return "no words"
        if self.speech_ms < min_speech_ms:
            return f"too short ({self.speech_ms} ms of speech)"
        if self.confidence < min_confidence:
            return f"low confidence ({self.confidence:.2f})"
        if len(words) == 1 and words[0].lower() in NOISE_WORDS:
            return f"filler or noise ({words[0]!r})"
        return None


# what recognisers typically make of a cough, a breath or line noise
NOISE_WORDS = frozenset({"um", "uh", "hmm", "mm", "ah", "oh", "huh", "you", "the", "a", "so"})


class AsrStream(Protocol):
    backend: str

    @property
    def speaking(self) -> bool:
        """Inside an utterance (between `start` and `end`)."""
        ...

    def feed(self, x16k: Samples) -> list[AsrEvent]: ...

    def transcribe(self, event: AsrEvent) -> Transcript: ...


class AsrModel(Protocol):
    """A loaded recognition model, shared by all calls; opens one stream per call."""

    backend: str

    def open_stream(self, *, endpoint_ms: int) -> AsrStream: ...
