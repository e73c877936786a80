"""Reading and writing WAV files, with clear errors for the files people actually bring."""

from __future__ import annotations

import logging
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance.audio.pcm import Samples, to_int16
from appliance.errors import AudioError

_LOGGER = logging.getLogger(__name__)


@dataclass
class WavAudio:
    samples: Samples  # mono float32
    rate: int
    channels_in_file: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate


def read_wav(path: Path) -> WavAudio:
    """Read a PCM WAV (8/16/24/32-bit, any rate); several channels are mixed down to mono."""
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError, OSError) as err:
        raise AudioError(f"{path}: not a readable PCM WAV file ({err})") from err
    if rate < 4000 or rate > 192000:
        raise AudioError(f"{path}: unsupported sample rate {rate} Hz")
    if width not in (1, 2, 3, 4):
        raise AudioError(f"{path}: unsupported sample width {width} bytes")
    usable = len(raw) - len(raw) % (width * channels)
    if usable == 0:
        raise AudioError(f"{path}: the file holds no audio")
    x = _decode(raw[:usable], width).reshape(-1, channels)
    if channels > 1:
        _LOGGER.info("%s: mixing %d channels down to mono", path, channels)
    return WavAudio(x.mean(axis=1).astype(np.float32), rate, channels)


def _decode(raw: bytes, width: int) -> Samples:
    if width == 1:
        return ((np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0).astype(
            np.float32
        )
    if width == 2:
        return (np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0).astype(np.float32)
    if width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        return (v.astype(np.float32) / float(1 << 23)).astype(np.float32)
    return (np.frombuffer(raw, "<i4").astype(np.float64) / 2**31).astype(np.float32)


def write_wav(path: Path, samples: Samples, rate: int) -> None:
    """Write 16-bit mono PCM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(to_int16(samples).astype("<i2").tobytes())
