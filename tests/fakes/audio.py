"""Caller audio for the stepped clock: 20 ms frames of silence or of a tone/noise "speaking"."""

from __future__ import annotations

import numpy as np

from appliance.audio.pcm import FRAME_MS, Samples, frame_len


def tone(ms: int, rate: int, *, hz: float = 440.0, amplitude: float = 0.2) -> Samples:
    n = rate * ms // 1000
    t = np.arange(n, dtype=np.float32) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def noise(ms: int, rate: int, *, amplitude: float = 0.2, seed: int = 0) -> Samples:
    rng = np.random.default_rng(seed)
    return rng.uniform(-amplitude, amplitude, rate * ms // 1000).astype(np.float32)


def frames(x: Samples, rate: int) -> list[Samples]:
    """`x` as whole 20 ms frames (the tail padded with silence)."""
    n = frame_len(rate)
    pad = (-len(x)) % n
    x = np.concatenate([x, np.zeros(pad, np.float32)])
    return [x[i : i + n] for i in range(0, len(x), n)]


def speech_frames(ms: int, rate: int) -> list[Samples]:
    """`ms` of a tone: what the scripted recogniser hears as speech."""
    return frames(tone(ms, rate), rate)


def silent_frames(ms: int, rate: int) -> list[Samples]:
    return [np.zeros(frame_len(rate), np.float32) for _ in range(ms // FRAME_MS)]
