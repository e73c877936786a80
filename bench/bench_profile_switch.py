"""Benchmark: switching assistant profile by restoring a cached KV state + setting a LoRA adapter,
versus re-evaluating the profile's system prompt.

    .venv/bin/python bench/bench_profile_switch.py [--model qwen2.5-coder-1.5b] [--reps 30]

For every assistant of the starter team the system prompt is evaluated once under its adapter
(two synthetic rank-8 adapters, alternating between consecutive assistants, so every switch really
changes the adapter). Then, cycling through the assistants `--reps` times:

- re-eval: set the adapter, clear the cache, evaluate the system prompt (no prefix cache);
- switch:  set the adapter, restore the saved KV state (what a handoff does with the cache).

Prints median / p95 ms of both and the speed-up, a markdown table row, PASS/FAIL against the
targets (switch at least 100x faster by median, switch p95 under 10 ms), and writes JSON to
`bench/results/profile_switch.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from appliance.assistants.prompts import system_prompt
from appliance.brain.llm import Message, SharedModel
from appliance.brain.prefix_cache import PrefixCache
from appliance.brain.session import AdapterSet, LlamaSession
from appliance.config import load_config
from appliance.models import model_path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from lora_fixture import make_lora  # the one LoRA generator, shared with the tests

ROOT = Path(__file__).resolve().parents[1]

TARGET_SPEEDUP = 100.0
TARGET_SWITCH_MS = 10.0
DEFAULT_OUT = ROOT / "bench" / "results" / "profile_switch.json"


@dataclass
class Profile:
    key: str
    tokens: list[int]
    adapters: AdapterSet


def stats(samples: list[float]) -> dict[str, float]:
    arr = np.asarray(samples, dtype=np.float64)
    return {
        "median_ms": float(np.median(arr)),
        "p95_ms": float(np.percentile(arr, 95)),
        "min_ms": float(arr.min()),
        "max_ms": float(arr.max()),
        "mean_ms": float(arr.mean()),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--model", default="qwen2.5-coder-1.5b", help="installed model name")
    p.add_argument("--reps", type=int, default=30, help="repetitions of each measurement")
    p.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    p.add_argument("--n-ctx", type=int, default=2048, help="context size of the session")
    p.add_argument("--rank", type=int, default=8, help="rank of the synthetic LoRA adapters")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON result file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base = model_path(args.model) / "model.gguf"
    assistants = load_config().assistants
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="bench-lora-") as tmp:
        t0 = time.perf_counter()
        lora_paths = [
            str(
                make_lora(base, Path(tmp) / f"lora{i}.gguf", rank=args.rank, seed=i, magnitude=0.01)
            )
            for i in (1, 2)
        ]
        make_s = time.perf_counter() - t0

        model = SharedModel(base, threads=args.threads)
        session = LlamaSession(model, n_ctx=args.n_ctx)
        try:
            adapter_load_ms = [model.adapter(p).load_ms for p in lora_paths]
            profiles = [
                Profile(
                    key=a.name,
                    tokens=model.start_tokens()
                    + model.format_message(Message("system", system_prompt(a))),
                    adapters=((lora_paths[i % 2], 1.0),),
                )
                for i, a in enumerate(assistants)
            ]
            cache = PrefixCache()
            for prof in profiles:
                cache.warm(session, prof.key, prof.tokens, prof.adapters)
            warm_ms = dict(cache.build_ms)

            # re-evaluation: what a switch costs without the prefix cache
            reeval: list[float] = []
            for rep in range(args.reps):
                prof = profiles[rep % len(profiles)]
                t0 = time.perf_counter()
                session.set_adapters(prof.adapters)
                session.clear()
                session.eval_prompt(prof.tokens)
                reeval.append((time.perf_counter() - t0) * 1000)

            # cached switch: adapter + KV state restore
            switch: list[float] = []
            set_ms: list[float] = []
            restore_ms: list[float] = []
            session.set_adapters(())
            for rep in range(args.reps):
                prof = profiles[rep % len(profiles)]
                state = cache.get(prof.key, prof.adapters)
                assert state is not None
                before = session.adapters
                t0 = time.perf_counter()
                set_ms.append(session.set_adapters(prof.adapters))
                restore_ms.append(session.restore(state))
                switch.append((time.perf_counter() - t0) * 1000)
                assert before != session.adapters == prof.adapters, "the adapter must change"
                assert session.tokens == prof.tokens
            state_bytes: dict[str, int] = {}
            for prof in profiles:
                saved = cache.get(prof.key, prof.adapters)
                assert saved is not None
                state_bytes[prof.key] = saved.nbytes
        finally:
            session.close()
            model.close()

    re_stats = stats(reeval)
    sw_stats = stats(switch)
    speedup = re_stats["median_ms"] / sw_stats["median_ms"]
    ok_speedup = speedup >= TARGET_SPEEDUP
    ok_ms = sw_stats["p95_ms"] < TARGET_SWITCH_MS
    mean_tokens = float(np.mean([len(p.tokens) for p in profiles]))
    mean_mb = float(np.mean(list(state_bytes.values()))) / 1e6

    print(
        f"model {args.model} ({base.stat().st_size / 1e6:.0f} MB), threads {args.threads}, "
        f"{len(profiles)} profiles, {args.reps} reps, LoRA rank {args.rank} "
        f"(made in {make_s:.1f} s, loaded in {', '.join(f'{x:.1f}' for x in adapter_load_ms)} ms)"
    )
    print(f"load average before: {load_before[0]:.2f}")
    print(f"re-eval : median {re_stats['median_ms']:8.1f} ms  p95 {re_stats['p95_ms']:8.1f} ms")
    print(
        f"switch  : median {sw_stats['median_ms']:8.2f} ms  p95 {sw_stats['p95_ms']:8.2f} ms"
        f"  (set adapter median {float(np.median(set_ms)):.3f} ms,"
        f" restore median {float(np.median(restore_ms)):.2f} ms)"
    )
    print(f"speed-up: {speedup:.0f}x (median re-eval / median switch)")
    print(f"{'PASS' if ok_speedup else 'FAIL'}: speed-up >= {TARGET_SPEEDUP:.0f}x ({speedup:.0f}x)")
    print(
        f"{'PASS' if ok_ms else 'FAIL'}: switch p95 < {TARGET_SWITCH_MS:.0f} ms "
        f"({sw_stats['p95_ms']:.2f} ms)"
    )
    print()
    print(
        "| model | threads | prompt tokens (mean) | KV state MB | re-eval median / p95 ms "
        "| switch median / p95 ms | speed-up |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.model} | {args.threads} | {mean_tokens:.0f} | {mean_mb:.1f} "
        f"| {re_stats['median_ms']:.0f} / {re_stats['p95_ms']:.0f} "
        f"| {sw_stats['median_ms']:.2f} / {sw_stats['p95_ms']:.2f} | {speedup:.0f}x |"
    )

    result: dict[str, Any] = {
        "benchmark": "profile_switch",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "loadavg_before": list(load_before),
            "loadavg_after": list(os.getloadavg()),
        },
        "model": args.model,
        "model_file_bytes": base.stat().st_size,
        "threads": args.threads,
        "n_ctx": args.n_ctx,
        "reps": args.reps,
        "lora_rank": args.rank,
        "adapter_load_ms": adapter_load_ms,
        "profiles": [
            {
                "key": p.key,
                "tokens": len(p.tokens),
                "adapter": Path(p.adapters[0][0]).name,
                "state_bytes": state_bytes[p.key],
                "warm_ms": warm_ms.get(p.key),
            }
            for p in profiles
        ],
        "reeval": {**re_stats, "samples_ms": reeval},
        "switch": {
            **sw_stats,
            "samples_ms": switch,
            "set_adapter_median_ms": float(np.median(set_ms)),
            "restore_median_ms": float(np.median(restore_ms)),
        },
        "speedup_median": speedup,
        "targets": {"speedup_min": TARGET_SPEEDUP, "switch_p95_max_ms": TARGET_SWITCH_MS},
        "pass": {"speedup": ok_speedup, "switch_ms": ok_ms},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0 if ok_speedup and ok_ms else 1


if __name__ == "__main__":
    sys.exit(main())
