"""A simulated telephone line: 8 kHz, 300-3400 Hz band-pass, G.711 mu-law round trip.

Recognition is always measured on audio that went through this, as a desk phone's would.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, sosfilt

from appliance.audio.pcm import Samples, resample

LINE_RATE = 8000
MU = 255.0
_SOS = butter(4, [300.0, 3400.0], btype="bandpass", fs=LINE_RATE, output="sos")


def mulaw_encode(x: Samples) -> NDArray[np.uint8]:
    """G.711 mu-law (continuous formula, 8-bit codes)."""
    x = np.clip(x, -1.0, 1.0)
    y = np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)
    codes: NDArray[np.uint8] = ((y + 1.0) / 2.0 * 255.0 + 0.5).astype(np.uint8)
    return codes


def mulaw_decode(codes: NDArray[np.uint8]) -> Samples:
    y = codes.astype(np.float32) / 255.0 * 2.0 - 1.0
    out: Samples = (np.sign(y) * ((1.0 + MU) ** np.abs(y) - 1.0) / MU).astype(np.float32)
    return out


def phone_line(x: Samples, rate: int) -> Samples:
    """Audio at `rate` -> what arrives at the far end of a phone line, at 8 kHz."""
    narrow = resample(x, rate, LINE_RATE)
    band = np.asarray(sosfilt(_SOS, narrow), dtype=np.float32)
    return mulaw_decode(mulaw_encode(band))
