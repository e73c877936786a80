"""Benchmark: `voicebox report` on a store of 10,000 synthetic calls.

    .venv/bin/python bench/bench_report.py [--calls 10000] [--reps 7]

Fills a real SQLite store (through the Store, as calls write it) with `--calls` calls over 30
days: every call starts at the front desk, 60% are handed off (support, sales, scheduling), a
third of those open a ticket or a lead, 10% are put through to a person, 5% hang up before a
word, each call has 4 caller turns. Then builds the report (`appliance/store/report.py`)
`--reps` times and prints median / p95 ms, PASS/FAIL against the target (p95 under 2 s on a
2-core box) and writes JSON to `bench/results/report.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.config import ReportSettings  # noqa: E402
from appliance.events import (  # noqa: E402
    CallerUtterance,
    ConversationEnded,
    ConversationStarted,
    HandoffStarted,
)
from appliance.store import Store  # noqa: E402
from appliance.store.report import build  # noqa: E402

TARGET_P95_MS = 2000.0


def fill(store: Store, calls: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    start = time.time() - 30 * 86400
    for i in range(calls):
        cid = f"c{i:05d}"
        t = start + i * (30 * 86400 / calls)
        store.record(ConversationStarted(cid, channel="sip", assistant="frontdesk", caller="201",
                                         t=t))  # fmt: skip
        final, reason, turns = "frontdesk", "caller hung up", 4
        if rng.random() < 0.05:
            turns = 0
        for k in range(turns):
            store.record(CallerUtterance(cid, turn=k + 1, assistant=final, text="x", t=t + 10 * k))
        if turns and rng.random() < 0.6:
            final = rng.choice(["support", "sales", "scheduling"])
            store.record(HandoffStarted(
                cid, turn=1, from_assistant="frontdesk", to_assistant=final, announcement="",
                reason="r", path="fast", scores={}, history="full", t=t + 15,
            ))  # fmt: skip
            if rng.random() < 0.33 and final == "support":
                store.open_ticket(cid, assistant=final, who="A", callback="201", summary="s",
                                  urgency="normal", targets=[])  # fmt: skip
            elif rng.random() < 0.33 and final == "sales":
                store.record_lead(cid, assistant=final, fields={"need": "n"}, targets=[])
        elif turns and rng.random() < 0.1:
            reason = "transferred to reception (blind)"
        store.record(ConversationEnded(cid, reason=reason, assistant=final, turns=turns,
                                       t=t + 60 + rng.random() * 240))  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "report.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "voicebox.db"
        t0 = time.perf_counter()
        store = Store(path)
        fill(store, args.calls)
        store.close()
        fill_s = time.perf_counter() - t0
        times = []
        for _ in range(args.reps):
            db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
            t1 = time.perf_counter()
            r = build(db, ReportSettings())
            times.append((time.perf_counter() - t1) * 1000)
            db.close()
        size_mb = path.stat().st_size / 1e6
    times.sort()
    median = statistics.median(times)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    ok = p95 < TARGET_P95_MS and r["calls"] == args.calls
    result = {
        "calls": args.calls, "reps": args.reps, "report_ms_median": round(median, 1),
        "report_ms_p95": round(p95, 1), "target_p95_ms": TARGET_P95_MS, "pass": ok,
        "store_mb": round(size_mb, 1), "fill_s": round(fill_s, 1),
        "outcomes": r["outcomes"], "handoffs": r["handoffs"]["total"],
        "machine": {"machine": platform.machine(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
    }  # fmt: skip
    verdict = "PASS" if ok else "FAIL"
    print(f"report on {args.calls} calls ({size_mb:.1f} MB store): median {median:.0f} ms, "
          f"p95 {p95:.0f} ms -> {verdict} (p95 < {TARGET_P95_MS:.0f} ms)")  # fmt: skip
    print(f"| report, {args.calls} calls | {median:.0f} ms | {p95:.0f} ms |")
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
