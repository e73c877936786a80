"""The VAD fallback of the Vosk stream, with a recognizer stand-in whose endpointing we control
(the real model: tests/integration/test_speech_real.py)."""

from __future__ import annotations

import json

import numpy as np

from appliance.audio.vad import CHUNK_MS
from appliance.speech.vosk_asr import FALLBACK_MARGIN_MS, VoskStream

FRAME = 320  # 20 ms at 16 kHz, as the call loop feeds it


class Recognizer:
    """Hears one utterance from `start_ms` on (a cough, hiss it takes for speech); ends it itself
    at `end_ms`, or never."""

    def __init__(self, start_ms: int, end_ms: int | None) -> None:
        self.start_ms, self.end_ms = start_ms, end_ms
        self.t_ms = 0
        self.finals = 0
        self.done = False

    def SetWords(self, on: bool) -> None:
        assert on

    def AcceptWaveform(self, data: bytes) -> bool:
        self.t_ms += len(data) // 2 * 1000 // 16000
        return self.end_ms is not None and self.t_ms == self.end_ms

    def PartialResult(self) -> str:
        hears = self.t_ms >= self.start_ms and not self.done
        return json.dumps({"partial": "네" if hears else ""})

    def _result(self) -> str:
        self.done = True
        word = {"word": "네", "conf": 0.9, "start": self.start_ms / 1000, "end": self.t_ms / 1000}
        return json.dumps({"text": "네", "result": [word]})

    def Result(self) -> str:
        return self._result()

    def FinalResult(self) -> str:
        self.finals += 1
        return self._result()


def _run(rec: Recognizer, endpoint_ms: int, ms: int) -> tuple[VoskStream, list[tuple[str, int]]]:
    stream = VoskStream(rec, endpoint_ms=endpoint_ms)
    events = []
    for _ in range(ms // 20):  # digital silence: the VAD never hears speech
        events += [(e.kind, e.t_ms) for e in stream.feed(np.zeros(FRAME, np.float32))]
    return stream, events


def test_an_utterance_vosk_never_ends_is_ended_by_the_vad() -> None:
    rec = Recognizer(start_ms=500, end_ms=None)
    stream, events = _run(rec, 300, 3000)
    kinds = [k for k, _t in events]
    assert kinds == ["start", "partial", "end"], events
    end = events[-1][1]
    # the VAD heard silence all along: the end comes endpoint + margin after Vosk's start,
    # within one VAD chunk and one line frame
    assert 500 + 300 + FALLBACK_MARGIN_MS <= end <= 500 + 300 + FALLBACK_MARGIN_MS + CHUNK_MS + 20
    assert (rec.finals, stream.forced_ends, stream.speaking) == (1, 1, False)


def test_an_utterance_vosk_ends_itself_is_not_ended_twice() -> None:
    rec = Recognizer(start_ms=500, end_ms=700)
    stream, events = _run(rec, 800, 3000)
    assert [k for k, _t in events] == ["start", "partial", "end"], events
    assert events[-1][1] == 700
    assert (rec.finals, stream.forced_ends) == (0, 0)
