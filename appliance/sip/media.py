"""Media ports: a call's audio as 20 ms float frames, and what the callbacks' timing looked like.

The callbacks run on pjmedia's clock thread: they convert one frame and hand it over (a queue
put or a buffer pop), nothing else. Timing is recorded so that lost or late frames are counted,
not assumed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pjsua2 as pj

from appliance.audio.pcm import Samples, frame_len, to_bytes

_LOGGER = logging.getLogger(__name__)
FRAME_S = 0.020
LATE_S = 0.040  # a callback this far behind the previous one means a missed 20 ms tick


_RAISED: set[int] = set()


def raise_priority() -> None:
    """Give the calling media thread SCHED_FIFO when allowed (root or CAP_SYS_NICE): with the
    LLM's threads busy on every core, the 20 ms clock otherwise waits for a time slice. Once per
    thread; without the right it stays as it is."""
    ident = threading.get_ident()
    if ident in _RAISED:
        return
    _RAISED.add(ident)
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        _LOGGER.info("media thread %d runs SCHED_FIFO", threading.get_native_id())
    except (PermissionError, OSError, AttributeError) as err:
        _LOGGER.info("media thread keeps normal priority (%s)", err)


class FrameClock:
    """Intervals between the callbacks of one direction."""

    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0
        self.gaps_ms: list[float] = []
        self.late = 0
        self.late_at: list[tuple[int, float]] = []  # (frame index, gap ms) of the first few

    def tick(self) -> None:
        now = time.perf_counter()
        if self.count:
            gap = now - self.last
            self.gaps_ms.append(gap * 1000)
            if gap > LATE_S:
                self.late += 1
                if len(self.late_at) < 10:
                    self.late_at.append((self.count, round(gap * 1000, 1)))
        self.last = now
        self.count += 1

    def summary(self) -> dict[str, Any]:
        g = np.array(self.gaps_ms or [0.0])
        return {
            "frames": self.count,
            "late": self.late,
            "gap_p50_ms": round(float(np.percentile(g, 50)), 2),
            "gap_p99_ms": round(float(np.percentile(g, 99)), 2),
            "gap_max_ms": round(float(g.max()), 2),
            "late_at": self.late_at,
        }


class LinePort(pj.AudioMediaPort):  # type: ignore[misc]
    """A conference-bridge port for one call: what the far end says goes to `on_frame`, what it
    hears comes from `next_frame`. Empty inbound frames are delivered as silence so that the
    consumer's clock keeps running."""

    def __init__(
        self,
        name: str,
        rate: int,
        on_frame: Callable[[Samples], None],
        next_frame: Callable[[], Samples],
    ) -> None:
        super().__init__()
        self.rate = rate
        self.samples = frame_len(rate)
        self.on_frame = on_frame
        self.next_frame = next_frame
        self.rx = FrameClock()
        self.tx = FrameClock()
        self.rx_audio = 0  # frames that carried audio (the rest were empty)
        self.errors = 0
        self._silence = np.zeros(self.samples, dtype=np.float32)
        fmt = pj.MediaFormatAudio()
        fmt.type = pj.PJMEDIA_TYPE_AUDIO
        fmt.clockRate = rate
        fmt.channelCount = 1
        fmt.bitsPerSample = 16
        fmt.frameTimeUsec = 20000
        self.createPort(name, fmt)

    def onFrameReceived(self, frame: Any) -> None:
        if self.rx.count == 0:
            raise_priority()
        self.rx.tick()
        try:
            if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size > 0:
                pcm = np.frombuffer(bytes(frame.buf), dtype=np.int16)
                samples = pcm.astype(np.float32) / 32768.0
                self.rx_audio += 1
            else:
                samples = self._silence
            self.on_frame(samples)
        except Exception:
            self.errors += 1
            if self.errors == 1:
                _LOGGER.exception("inbound frame failed")

    def onFrameRequested(self, frame: Any) -> None:
        if self.tx.count == 0:
            raise_priority()
        self.tx.tick()
        try:
            data = to_bytes(self.next_frame())
        except Exception:
            self.errors += 1
            if self.errors == 1:
                _LOGGER.exception("outbound frame failed")
            data = bytes(2 * self.samples)
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frame.buf = pj.ByteVector(data)
        frame.size = len(data)

    def stats(self) -> dict[str, Any]:
        return {
            "rx": self.rx.summary(),
            "tx": self.tx.summary(),
            "rx_audio": self.rx_audio,
            "errors": self.errors,
        }
