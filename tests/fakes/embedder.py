"""Deterministic sentence vectors: hashed bags of content words (L2-normalised), so that the
router's fast path matches on shared keywords. Implements `TextEmbedder`
(appliance/brain/parts.py)."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import numpy.typing as npt

_STOP = """a an the i me my we you your it is are am be to of and or in on at for with can could
would like want please do does this that there here so just some about"""
STOP_WORDS = frozenset(_STOP.split())


class HashingEmbedder:
    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.calls = 0

    def words(self, text: str) -> list[str]:
        return [w for w in re.findall(r"[^\W_]+", text.lower()) if w not in STOP_WORDS]

    def _vector(self, text: str) -> npt.NDArray[np.float32]:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in self.words(text):
            v[int.from_bytes(hashlib.sha1(w.encode()).digest()[:4], "little") % self.dim] += 1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm > 0 else v

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.calls += 1
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts]).astype(np.float32)

    def embed_one(self, text: str) -> npt.NDArray[np.float32]:
        return self._vector(text)
