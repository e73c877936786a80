"""Whisper backend: faster-whisper (CTranslate2, int8) behind the Silero VAD endpointer.

Whisper is not streaming: the endpointer finds the utterance and the whole utterance is
recognised at once (about 0.35-0.5 s for a short one on 2 cores). No partial results.
"""

from __future__ import annotations

import copy
import logging
import math
import threading
import time
from pathlib import Path

from appliance.audio.pcm import Samples
from appliance.audio.vad import Endpointer
from appliance.errors import SpeechError
from appliance.speech.asr import AsrEvent, AsrStream, Transcript

_LOGGER = logging.getLogger(__name__)


class WhisperModel:
    backend = "whisper"

    def __init__(self, path: Path, *, threads: int = 2, language: str = "en") -> None:
        from faster_whisper import WhisperModel as _FW

        if not (path / "model.bin").exists():
            raise SpeechError(f"no faster-whisper model in {path} (model.bin missing)")
        t0 = time.perf_counter()
        try:
            self.model = _FW(str(path), device="cpu", compute_type="int8", cpu_threads=threads)
        except (RuntimeError, ValueError) as err:
            raise SpeechError(f"cannot load whisper model {path}: {err}") from err
        self.language = language
        self.lock = threading.Lock()  # one recognition at a time: the cores are few
        self._views: dict[str, WhisperModel] = {language: self}
        _LOGGER.info(
            "whisper model %s loaded in %.0f ms", path.name, (time.perf_counter() - t0) * 1e3
        )

    def open_stream(self, *, endpoint_ms: int) -> AsrStream:
        return WhisperStream(self, endpoint_ms)

    @property
    def multilingual(self) -> bool:
        return bool(self.model.model.is_multilingual)

    def speaking(self, language: str) -> WhisperModel:
        """These weights recognising `language`: one copy in memory and one lock for all the
        languages a multilingual model hears (an English-only model hears English)."""
        if not self.multilingual:
            return self
        with self.lock:
            view = self._views.get(language)
            if view is None:
                view = copy.copy(self)  # shares the model, the lock and the views
                view.language = language
                self._views[language] = view
        return view

    def languages(self, audio: Samples) -> dict[str, float]:
        """Whisper's probability of each language for this audio (multilingual models)."""
        if not self.multilingual:
            raise SpeechError("an English-only whisper model cannot tell languages apart")
        with self.lock:
            _best, _p, ranked = self.model.detect_language(audio)
        return dict(ranked)

    def recognise(self, audio: Samples) -> tuple[str, float]:
        with self.lock:
            segments, _info = self.model.transcribe(
                audio,
                language=self.language,
                beam_size=1,
                best_of=1,
                temperature=0.0,
                condition_on_previous_text=False,
                without_timestamps=True,
                vad_filter=False,
            )
            segs = list(segments)
        text = " ".join(s.text.strip() for s in segs).strip()
        if not segs:
            return "", 0.0
        logprob = sum(s.avg_logprob for s in segs) / len(segs)
        no_speech = max(s.no_speech_prob for s in segs)
        confidence = math.exp(logprob) * (1.0 - no_speech)
        return text, confidence


class WhisperStream:
    backend = "whisper"

    def __init__(self, model: WhisperModel, endpoint_ms: int) -> None:
        self.model = model
        self.endpointer = Endpointer(end_ms=endpoint_ms)

    @property
    def speaking(self) -> bool:
        return self.endpointer.speaking

    def feed(self, x16k: Samples) -> list[AsrEvent]:
        return [
            AsrEvent(e.kind, e.t_ms, audio=e.audio, speech_ms=e.speech_ms)
            for e in self.endpointer.feed(x16k)
        ]

    def transcribe(self, event: AsrEvent) -> Transcript:
        if event.audio is None or len(event.audio) == 0:
            return Transcript("", 0.0, 0, 0.0, self.backend)
        t0 = time.perf_counter()
        text, confidence = self.model.recognise(event.audio)
        return Transcript(
            text, confidence, event.speech_ms, (time.perf_counter() - t0) * 1e3, self.backend
        )
