"""Vosk backend: streaming Kaldi recognition with partial results and built-in endpointing.

The end-of-speech delay is tuned through a copy of the model's conf/model.conf (the only way
Vosk offers); the big folders of the copy are symlinks to the installed model. One recognizer
per call, created once and reused (a new one stalls 0.5-0.7 s on its first decode).

Vosk's endpoint rules count "trailing silence" as the decoder sees it: frames its best path
spends in silence phones. On line noise, and even on digital silence after espeak speech
(Kaldi dithers it with the process's rand() state, so the outcome changed from run to run), the
decoder often keeps matching speech phones: a 300 ms setting ended 1.3-5.4 s after the speech
or never. An utterance that never ends leaves the caller unanswered, so our own Silero VAD
(`Endpointer`) runs beside it: once the VAD has heard `endpoint_ms + FALLBACK_MARGIN_MS` of
silence inside a Vosk utterance, FinalResult() ends it.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from pathlib import Path
from typing import Any

from appliance.audio.pcm import Samples, to_bytes
from appliance.audio.vad import CHUNK_MS, Endpointer
from appliance.errors import SpeechError
from appliance.speech.asr import ASR_RATE, AsrEvent, AsrStream, Transcript

_LOGGER = logging.getLogger(__name__)
_RULES = {"rule2": 1.0, "rule3": 1.5, "rule4": 2.0}  # multiples of the endpoint delay
FALLBACK_MARGIN_MS = 100  # VAD silence beyond endpoint_ms after which the box ends the utterance


def tuned_copy(src: Path, endpoint_ms: int, cache: Path) -> Path:
    """A copy of a Vosk model folder whose endpoint rules end an utterance after `endpoint_ms`."""
    conf = src / "conf" / "model.conf"
    if not conf.exists():
        raise SpeechError(f"{src}: not a Vosk model (conf/model.conf missing)")
    dst = cache / f"{src.name}-endpoint{endpoint_ms}"
    dst.mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        target = dst / entry.name
        if entry.name == "conf" or target.exists() or target.is_symlink():
            continue
        target.symlink_to(entry.resolve())
    (dst / "conf").mkdir(exist_ok=True)
    for f in (src / "conf").iterdir():
        if f.name != "model.conf":
            shutil.copy2(f, dst / "conf" / f.name)
    text = conf.read_text()
    for rule, factor in _RULES.items():
        value = f"--endpoint.{rule}.min-trailing-silence={endpoint_ms * factor / 1000:.2f}"
        pattern = rf"^--endpoint\.{rule}\.min-trailing-silence=.*$"
        text, n = re.subn(pattern, value, text, flags=re.M)
        if n == 0:
            text = text.rstrip("\n") + "\n" + value + "\n"
    (dst / "conf" / "model.conf").write_text(text)
    return dst


class VoskModel:
    backend = "vosk"

    def __init__(self, path: Path, *, cache: Path) -> None:
        import vosk

        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self.path = path
        self.cache = cache
        self._models: dict[int, object] = {}

    def _model(self, endpoint_ms: int) -> object:
        if endpoint_ms not in self._models:
            t0 = time.perf_counter()
            folder = tuned_copy(self.path, endpoint_ms, self.cache)
            try:
                self._models[endpoint_ms] = self._vosk.Model(str(folder))
            except Exception as err:  # vosk raises a bare Exception on a bad folder
                raise SpeechError(f"cannot load Vosk model {self.path}: {err}") from err
            _LOGGER.info(
                "vosk model %s loaded in %.0f ms", folder, (time.perf_counter() - t0) * 1e3
            )
        return self._models[endpoint_ms]

    def open_stream(self, *, endpoint_ms: int) -> AsrStream:
        recognizer = self._vosk.KaldiRecognizer(self._model(endpoint_ms), ASR_RATE)
        return VoskStream(recognizer, endpoint_ms=endpoint_ms)


class VoskStream:
    backend = "vosk"

    def __init__(self, recognizer: object, *, endpoint_ms: int) -> None:
        self.rec = recognizer
        self.rec.SetWords(True)  # type: ignore[attr-defined]
        self.t_ms = 0
        self.fallback_ms = endpoint_ms + FALLBACK_MARGIN_MS
        self.vad = Endpointer(end_ms=self.fallback_ms)
        self._quiet_since: int | None = 0  # VAD stream time since which it heard no speech
        self.forced_ends = 0  # utterances the VAD fallback ended (Vosk's rules did not)
        self._reset_utterance()

    def _reset_utterance(self) -> None:
        self.speaking = False
        self.partial = ""
        self.started_ms = 0
        self.audio_parts: list[Samples] = []

    def feed(self, x16k: Samples) -> list[AsrEvent]:
        self.t_ms += len(x16k) * 1000 // ASR_RATE
        events: list[AsrEvent] = []
        if self.speaking:
            self.audio_parts.append(x16k)
        if self.rec.AcceptWaveform(to_bytes(x16k)):  # type: ignore[attr-defined]
            result = json.loads(self.rec.Result())  # type: ignore[attr-defined]
            if self.speaking or result.get("text"):
                events.append(self._final(result))
        else:
            events += self._partial(x16k)
        self._listen(x16k)
        if self.speaking and self._vad_silence_ms() >= self.fallback_ms:
            self.forced_ends += 1
            _LOGGER.debug(
                "vosk did not end the utterance after %d ms of VAD silence: ending it",
                self._vad_silence_ms(),
            )
            events.append(self._final(json.loads(self.rec.FinalResult())))  # type: ignore[attr-defined]
        return events

    def _partial(self, x16k: Samples) -> list[AsrEvent]:
        events: list[AsrEvent] = []
        partial = json.loads(self.rec.PartialResult()).get("partial", "")  # type: ignore[attr-defined]
        if partial and not self.speaking:
            self.speaking = True
            self.started_ms = self.t_ms
            events.append(AsrEvent("start", self.t_ms))
            self.audio_parts = [x16k]
        if partial and partial != self.partial:
            self.partial = partial
            events.append(AsrEvent("partial", self.t_ms, text=partial))
        return events

    def _listen(self, x16k: Samples) -> None:
        """Follow our own VAD: where its current silence began (None while it hears speech)."""
        for ev in self.vad.feed(x16k):
            if ev.kind in ("start", "resume"):
                self._quiet_since = None
            elif ev.kind == "pause":
                self._quiet_since = ev.t_ms - CHUNK_MS  # the first silent chunk began there
            elif ev.kind == "end" and self._quiet_since is None:
                self._quiet_since = ev.t_ms  # ended by its length limit, not by silence

    def _vad_silence_ms(self) -> int:
        """Silence the VAD has heard since the later of its last speech and Vosk's start."""
        if self._quiet_since is None:
            return 0
        return self.vad.t_ms - max(self._quiet_since, self.started_ms)

    def _final(self, result: dict[str, Any]) -> AsrEvent:
        words: list[dict[str, Any]] = list(result.get("result") or [])
        confs = [float(w["conf"]) for w in words]
        conf = sum(confs) / len(confs) if confs else 0.0
        speech_ms = 0
        if words:
            speech_ms = int((float(words[-1]["end"]) - float(words[0]["start"])) * 1000)
        text = str(result.get("text", ""))
        self._reset_utterance()
        return AsrEvent("end", self.t_ms, text=text, speech_ms=speech_ms, confidence=conf)

    def transcribe(self, event: AsrEvent) -> Transcript:
        return Transcript(event.text, event.confidence, event.speech_ms, 0.0, self.backend)
