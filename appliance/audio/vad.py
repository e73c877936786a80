"""Voice activity: Silero VAD (the ONNX file faster-whisper ships) run chunk by chunk, and an
endpointer that turns speech probabilities into speech start, pause and end of utterance."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime

from appliance.audio.pcm import Samples
from appliance.errors import SpeechError

_LOGGER = logging.getLogger(__name__)
VAD_RATE = 16000
CHUNK = 512  # 32 ms at 16 kHz: the model's window
CONTEXT = 64
CHUNK_MS = CHUNK * 1000 // VAD_RATE
# Silero is trained mostly on wideband audio: on phone-line speech (8 kHz G.711, upsampled) it
# says 0.3-0.6 where the same words at full band get 0.9+, while coughs, hiss and clicks on the
# line stay below 0.06 (96 Piper/espeak utterances, 100 noises, measured 2026-11-25).
# - START_THRESHOLD: one chunk this likely starts speech. At Silero's usual 0.5 (or two chunks at
#   0.35) a caller's first voiced chunks were missed: barge-in came 120 ms after the onset in the
#   median and up to 320 ms; at 0.3, 80 ms median and under 190 ms.
# - SPEECH_THRESHOLD: below it a chunk is silence for the end-of-utterance hangover. Lower values
#   split fewer utterances at short pauses but end every utterance later (0.15: +30 ms, which
#   pushed the handoff announcement past its 400 ms target). Not above the start threshold: a
#   chunk that would start speech must not count as silence inside it.
START_THRESHOLD = 0.3
SPEECH_THRESHOLD = 0.3


def silero_path() -> Path:
    import faster_whisper

    path = Path(faster_whisper.__file__).parent / "assets" / "silero_vad_v6.onnx"
    if not path.exists():
        raise SpeechError(f"Silero VAD model not found at {path}")
    return path


class SileroVad:
    """Streaming Silero VAD for one audio stream (keeps its recurrent state)."""

    _session: onnxruntime.InferenceSession | None = None

    def __init__(self) -> None:
        self.session = self._shared()
        self.reset()

    @classmethod
    def _shared(cls) -> onnxruntime.InferenceSession:
        if cls._session is None:
            opts = onnxruntime.SessionOptions()
            opts.inter_op_num_threads = 1
            opts.intra_op_num_threads = 1
            opts.log_severity_level = 4
            cls._session = onnxruntime.InferenceSession(
                str(silero_path()), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        return cls._session

    def reset(self) -> None:
        self.h = np.zeros((1, 1, 128), dtype=np.float32)
        self.c = np.zeros((1, 1, 128), dtype=np.float32)
        self.context = np.zeros(CONTEXT, dtype=np.float32)

    def __call__(self, chunk: Samples) -> float:
        """Speech probability of one 512-sample chunk at 16 kHz."""
        x = np.concatenate([self.context, chunk.astype(np.float32)])[None, :]
        out, self.h, self.c = self.session.run(None, {"input": x, "h": self.h, "c": self.c})
        self.context = chunk[-CONTEXT:].astype(np.float32)
        return float(np.asarray(out).reshape(-1)[0])


@dataclass
class VadEvent:
    kind: str  # "start" | "pause" | "resume" | "end"
    t_ms: int  # stream time of the event (end of the chunk that caused it)
    audio: Samples | None = None  # the utterance so far ("pause", "end")
    speech_ms: int = 0


class Endpointer:
    """Speech starts at the first chunk of probability `start_threshold`; it ends after `end_ms`
    of chunks below `speech_threshold` (the hangover).

    A "pause" event comes at the first silent chunk after speech, so the caller of this class can
    start recognition speculatively while the hangover runs; "resume" cancels that guess.
    """

    def __init__(
        self,
        *,
        end_ms: int = 300,
        start_threshold: float = START_THRESHOLD,
        speech_threshold: float = SPEECH_THRESHOLD,
        preroll_ms: int = 256,
        max_ms: int = 20000,
    ) -> None:
        if speech_threshold > start_threshold:
            raise ValueError("the speech threshold must not be above the start threshold")
        self.vad = SileroVad()
        self.end_ms = end_ms
        self.start_threshold = start_threshold
        self.speech_threshold = speech_threshold
        self.preroll = max(1, preroll_ms // CHUNK_MS)
        self.max_chunks = max_ms // CHUNK_MS
        self._pending = np.zeros(0, dtype=np.float32)
        self._t_chunks = 0
        self._reset_utterance()

    def _reset_utterance(self) -> None:
        self.speaking = False
        self._chunks: list[Samples] = []
        self._silent = 0
        self._voiced = 0

    @property
    def t_ms(self) -> int:
        return self._t_chunks * CHUNK_MS

    def feed(self, x16k: Samples) -> list[VadEvent]:
        """Feed audio at 16 kHz of any length; returns the events it caused, in order."""
        self._pending = np.concatenate([self._pending, x16k])
        events: list[VadEvent] = []
        while len(self._pending) >= CHUNK:
            chunk, self._pending = self._pending[:CHUNK], self._pending[CHUNK:]
            self._t_chunks += 1
            ev = self._step(chunk, self.vad(chunk))
            if ev is not None:
                events.append(ev)
        return events

    def _audio(self) -> Samples:
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)

    def _step(self, chunk: Samples, p: float) -> VadEvent | None:
        self._chunks.append(chunk)
        if not self.speaking:
            if p >= self.start_threshold:
                self.speaking = True
                self._voiced = 1
                self._silent = 0
                return VadEvent("start", self.t_ms)
            del self._chunks[: max(0, len(self._chunks) - self.preroll)]
            return None
        if p >= self.speech_threshold:
            self._voiced += 1
            was_silent, self._silent = self._silent, 0
            if len(self._chunks) >= self.max_chunks:
                return self._end()
            return VadEvent("resume", self.t_ms) if was_silent else None
        self._silent += 1
        if self._silent * CHUNK_MS >= self.end_ms or len(self._chunks) >= self.max_chunks:
            return self._end()
        if self._silent == 1:
            return VadEvent("pause", self.t_ms, self._audio(), self._voiced * CHUNK_MS)
        return None

    def _end(self) -> VadEvent:
        keep = len(self._chunks) - max(0, self._silent - 3)  # keep ~100 ms of trailing silence
        audio = np.concatenate(self._chunks[:keep])
        ev = VadEvent("end", self.t_ms, audio, self._voiced * CHUNK_MS)
        self._reset_utterance()
        return ev
