"""Routing benchmark over the starter flow suite, on the default model.

Measures per caller turn: the routing decision latency (fast path and LLM path separately), slot
extraction time, the first reply token after a handoff (profile switch + carry-over prefill +
first token) and in the same assistant, and the routing accuracy of the suite (the assistant
active after each turn against the expectation). Prints a markdown table; writes JSON to
bench/results/routing.json.

    .venv/bin/python bench/bench_routing.py [--flows tests/flows/starter.yaml] [--llm NAME]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appliance.config import load_config  # noqa: E402
from appliance.engine import Engine  # noqa: E402
from appliance.events import Event, RoutingDecided  # noqa: E402
from appliance.flows import load_flows, mismatch, resolve_config_ref  # noqa: E402


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q * (len(s) - 1))))
    return s[k]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": round(statistics.median(values), 1) if values else float("nan"),
        "p95": round(pct(values, 0.95), 1),
    }


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", default=str(ROOT / "tests/flows/starter.yaml"))
    ap.add_argument("--llm", default=None)
    ap.add_argument("--out", default=str(ROOT / "bench/results/routing.json"))
    args = ap.parse_args()

    flow_path = Path(args.flows)
    flows = load_flows(flow_path)
    cfg = load_config(resolve_config_ref(flows, flow_path, None))
    t0 = time.perf_counter()
    engine = Engine(cfg, llm=args.llm)
    startup_s = time.perf_counter() - t0

    fast: list[float] = []
    llm: list[float] = []
    slots: list[float] = []
    first_after_handoff: list[float] = []
    first_same: list[float] = []
    switch: list[float] = []
    correct = total = 0
    for sc in flows.scenarios:
        decisions: list[RoutingDecided] = []

        def grab(e: Event, sink: list[RoutingDecided] = decisions) -> None:
            if isinstance(e, RoutingDecided):
                sink.append(e)

        conv = engine.new_conversation(channel="bench", assistant=sc.start, listeners=[grab])
        conv.start()
        for turn in sc.turns:
            decisions.clear()
            r = conv.handle(turn.caller)
            for d in decisions:
                (llm if d.path == "llm" else fast).append(d.latency_ms)
            slots.append(r.timings.get("slots_ms", 0.0))
            if r.handoff:
                first_after_handoff.append(r.timings["switch_ms"] + r.first_token_ms)
                switch.append(float(str(r.handoff["switch_ms"])))
            else:
                first_same.append(r.first_token_ms)
            if turn.expect.assistant is not None:
                total += 1
                only_assistant = turn.expect.model_copy(update={"slots": {}, "reply_contains": []})
                correct += mismatch(only_assistant, r) is None
        conv.end("bench")

    result: dict[str, Any] = {
        "machine": machine(),
        "model": engine.llm_name,
        "startup_s": round(startup_s, 1),
        "routing_fast_ms": summary(fast),
        "routing_llm_ms": summary(llm),
        "slot_extraction_ms": summary(slots),
        "profile_switch_ms": summary(switch),
        "first_token_after_handoff_ms": summary(first_after_handoff),
        "first_token_same_assistant_ms": summary(first_same),
        "accuracy": {
            "correct": correct,
            "total": total,
            "percent": round(100 * correct / max(total, 1), 1),
        },
    }
    engine.close()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    print(f"machine: {result['machine']}; model {result['model']}")
    print("| measure | n | median ms | p95 ms |")
    print("|---|---|---|---|")
    for key in (
        "routing_fast_ms",
        "routing_llm_ms",
        "slot_extraction_ms",
        "profile_switch_ms",
        "first_token_after_handoff_ms",
        "first_token_same_assistant_ms",
    ):
        s = result[key]
        print(f"| {key} | {s['n']} | {s['median']} | {s['p95']} |")
    acc = result["accuracy"]
    verdict = "PASS" if acc["percent"] >= 95 else "FAIL"
    print(
        f"routing accuracy: {acc['correct']}/{acc['total']} = {acc['percent']}% "
        f"(target >= 95%: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
