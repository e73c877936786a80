"""Synthetic LoRA adapters for tests and benchmarks, written with the `gguf` package.

The adapter matches a base GGUF's tensor shapes, so llama.cpp loads it on that model. Weights are
random (seeded) unless `zero=True`, which makes every `lora_b` zero: the adapter then changes
nothing, a useful control.

GGUF stores dimensions reversed with respect to numpy: a base weight listed by `GGUFReader` as
`[n_in, n_out]` (ne0, ne1) is a numpy `(n_out, n_in)` matrix. llama.cpp expects, per target,
`lora_a` with ne = [n_in, r] and `lora_b` with ne = [r, n_out], i.e. numpy shapes
`(r, n_in)` and `(n_out, r)`; the delta applied is `scale * alpha / r * B @ A`.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import gguf
import numpy as np

_BLOCK_WEIGHT = re.compile(r"^blk\.(\d+)\.([A-Za-z0-9_]+)\.weight$")


@functools.lru_cache(maxsize=4)
def read_base(base_gguf: Path, targets: tuple[str, ...]) -> tuple[str, dict[str, tuple[int, int]]]:
    """The base model's architecture and `{tensor name: (n_in, n_out)}` of its 2-D weights
    named in `targets` (cached: parsing a GGUF's metadata takes seconds)."""
    reader = gguf.GGUFReader(str(base_gguf))
    field = reader.fields.get(gguf.Keys.General.ARCHITECTURE)
    if field is None:
        raise ValueError(f"{base_gguf}: no general.architecture")
    shapes: dict[str, tuple[int, int]] = {}
    for tensor in reader.tensors:
        name = str(tensor.name)
        match = _BLOCK_WEIGHT.match(name)
        if match is None or match.group(2) not in targets:
            continue
        dims = [int(d) for d in tensor.shape]
        if len(dims) != 2:
            continue
        shapes[name] = (dims[0], dims[1])  # GGUF order: ne0 = inputs, ne1 = outputs
    return str(field.contents()), shapes


def make_lora(
    base_gguf: Path,
    out: Path,
    *,
    rank: int = 4,
    alpha: float = 8.0,
    zero: bool = False,
    seed: int = 0,
    targets: tuple[str, ...] = ("attn_q", "attn_v"),
    magnitude: float = 0.05,
) -> Path:
    """Write a LoRA adapter GGUF for `base_gguf` to `out` and return `out`.

    `magnitude` is the standard deviation of the random entries of both A and B; the effective
    delta grows with `magnitude**2 * alpha * sqrt(rank) / rank`.
    """
    if rank < 1:
        raise ValueError("rank must be at least 1")
    architecture, shapes = read_base(base_gguf, targets)
    if not shapes:
        raise ValueError(f"{base_gguf}: no weights named {targets!r}")
    rng = np.random.default_rng(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(out), architecture)
    try:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
        writer.add_string(gguf.Keys.General.NAME, f"test-lora-r{rank}-seed{seed}")
        for name, (n_in, n_out) in sorted(shapes.items()):
            lora_a = (rng.standard_normal((rank, n_in)) * magnitude).astype(np.float32)
            if zero:
                lora_b = np.zeros((n_out, rank), dtype=np.float32)
            else:
                lora_b = (rng.standard_normal((n_out, rank)) * magnitude).astype(np.float32)
            writer.add_tensor(f"{name}.lora_a", lora_a)
            writer.add_tensor(f"{name}.lora_b", lora_b)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    return out
