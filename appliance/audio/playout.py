"""The outbound buffer of one call: queued audio segments, popped 20 ms at a time.

Each segment remembers what it says, so that a barge-in can tell what the caller heard. Popping
never blocks, calls nothing outside this buffer and always returns a full frame (silence when
there is nothing to say), so it is safe to call from a media callback (pjmedia's clock thread).
Which segments began playing is collected for the call's own thread to report (`started()`).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

from appliance.audio.pcm import Samples


@dataclass
class Segment:
    kind: str  # greeting | announcement | reply | phrase
    text: str
    audio: Samples
    turn: int
    assistant: str
    pos: int = 0


@dataclass
class Heard:
    """What was cut by a flush: the segments the caller heard in full or in part."""

    turn: int
    text: str
    heard_ms: int
    kinds: list[str]


class Playout:
    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._queue: deque[Segment] = deque()
        self._started: list[Segment] = []  # began playing, not yet reported
        self._done: list[Segment] = []  # finished segments of the current turn
        self._lock = threading.Lock()
        self.played_samples = 0

    def add(self, segment: Segment) -> None:
        with self._lock:
            if self._done and self._done[-1].turn != segment.turn:
                self._done.clear()
            self._queue.append(segment)

    @property
    def playing(self) -> bool:
        with self._lock:
            return bool(self._queue)

    def pending_ms(self) -> int:
        with self._lock:
            left = sum(len(s.audio) - s.pos for s in self._queue)
        return left * 1000 // self.rate

    def pop(self, n: int) -> Samples:
        out = np.zeros(n, dtype=np.float32)
        filled = 0
        with self._lock:
            while filled < n and self._queue:
                seg = self._queue[0]
                if seg.pos == 0:
                    self._started.append(seg)
                take = min(n - filled, len(seg.audio) - seg.pos)
                out[filled : filled + take] = seg.audio[seg.pos : seg.pos + take]
                seg.pos += take
                filled += take
                if seg.pos >= len(seg.audio):
                    self._done.append(self._queue.popleft())
            self.played_samples += n
        return out

    def started(self) -> list[Segment]:
        """The segments that began playing since the last call, oldest first (then forgotten)."""
        with self._lock:
            out, self._started = self._started, []
        return out

    def flush(self) -> Heard | None:
        """Drop everything queued; returns what the caller heard of the interrupted turn."""
        with self._lock:
            current = self._queue[0] if self._queue and self._queue[0].pos > 0 else None
            dropped = list(self._queue)
            self._queue.clear()
            done = [s for s in self._done if not dropped or s.turn == dropped[0].turn]
            self._done.clear()
        if not dropped:
            return None
        parts = [s.text for s in done]
        heard = sum(len(s.audio) for s in done)
        if current is not None:
            words = current.text.split()
            frac = current.pos / max(1, len(current.audio))
            parts.append(" ".join(words[: int(len(words) * frac)]))
            heard += current.pos
        return Heard(
            dropped[0].turn,
            " ".join(p for p in parts if p),
            heard * 1000 // self.rate,
            [s.kind for s in dropped],
        )
