"""PCM helpers: int16 <-> float32, resampling, 20 ms framing. Mono everywhere."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.typing import NDArray
from scipy.signal import resample_poly

Samples = NDArray[np.float32]
FRAME_MS = 20


def frame_len(rate: int, ms: int = FRAME_MS) -> int:
    return rate * ms // 1000


def to_float(pcm: bytes | NDArray[np.int16]) -> Samples:
    """16-bit signed PCM to float32 in [-1, 1)."""
    arr = np.frombuffer(pcm, dtype="<i2") if isinstance(pcm, bytes) else pcm
    return (arr.astype(np.float32) / 32768.0).astype(np.float32)


def to_int16(x: Samples) -> NDArray[np.int16]:
    return (np.clip(x, -1.0, 32767 / 32768) * 32768.0).astype(np.int16)


def to_bytes(x: Samples) -> bytes:
    return to_int16(x).astype("<i2").tobytes()


def resample(x: Samples, src: int, dst: int) -> Samples:
    """Polyphase resampling (anti-aliased); a no-op when the rates match."""
    if src == dst or len(x) == 0:
        return x.astype(np.float32, copy=False)
    ratio = Fraction(dst, src)
    out = resample_poly(x.astype(np.float32), ratio.numerator, ratio.denominator)
    return np.asarray(out, dtype=np.float32)


def split_frames(x: Samples, rate: int, ms: int = FRAME_MS) -> list[Samples]:
    """Cut into frames of `ms`; the last one is padded with silence."""
    n = frame_len(rate, ms)
    pad = (-len(x)) % n
    if pad:
        x = np.concatenate([x, np.zeros(pad, dtype=np.float32)])
    return [x[i : i + n] for i in range(0, len(x), n)]


def rms_dbfs(x: Samples) -> float:
    if len(x) == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return 20.0 * float(np.log10(max(rms, 1e-6)))


class StreamResampler:
    """Resample a stream chunk by chunk without edge artefacts at the chunk boundaries.

    Each chunk is filtered together with the end of the previous ones; the output lags the
    input by `lookahead_ms` so that every output sample saw the samples after it too.
    Exact when each chunk's length times dst/src is a whole number (20 ms frames are).
    """

    def __init__(self, src: int, dst: int, *, history_ms: int = 8, lookahead_ms: int = 4) -> None:
        ratio = Fraction(dst, src)
        self.src, self.dst = src, dst
        self.up, self.down = ratio.numerator, ratio.denominator
        step = self.down
        self.lookahead = -(-(src * lookahead_ms // 1000) // step) * step
        # the outputs start `lookahead` before the end of the history: keep context before that
        self.history = self.lookahead + -(-(src * history_ms // 1000) // step) * step
        self._hist = np.zeros(self.history, dtype=np.float32)

    def __call__(self, x: Samples) -> Samples:
        if self.src == self.dst:
            return x
        buf = np.concatenate([self._hist, x.astype(np.float32)])
        y = resample_poly(buf, self.up, self.down)
        start = (self.history - self.lookahead) * self.up // self.down
        end = (len(buf) - self.lookahead) * self.up // self.down
        self._hist = buf[-self.history :]
        return np.asarray(y[start:end], dtype=np.float32)
