"""Sentence embeddings (MiniLM-L6, int8 ONNX) for the routing fast path and the config checker."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Tokenizer

from appliance.errors import ModelError

_LOGGER = logging.getLogger(__name__)

Vector = npt.NDArray[np.float32]


class Embedder:
    """Mean-pooled, L2-normalised sentence vectors; cosine similarity is a dot product."""

    def __init__(self, folder: Path, *, threads: int = 1, max_tokens: int = 128) -> None:
        model, tok = folder / "model.onnx", folder / "tokenizer.json"
        for f in (model, tok):
            if not f.exists():
                raise ModelError(f"embedding model file missing: {f}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(tok))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._cache: dict[str, Vector] = {}
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Vectors for several texts, shape (n, 384); cached per text."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = self._run(missing)
            with self._lock:
                for t, v in zip(missing, vecs, strict=True):
                    self._cache[t] = v
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts]).astype(np.float32, copy=False)

    def embed_one(self, text: str) -> Vector:
        vec: Vector = self.embed([text])[0]
        return vec

    def _run(self, texts: list[str]) -> npt.NDArray[np.float32]:
        enc = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        types = np.zeros_like(ids)
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
        )
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-6, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        out: npt.NDArray[np.float32] = (pooled / np.clip(norms, 1e-9, None)).astype(np.float32)
        return out
