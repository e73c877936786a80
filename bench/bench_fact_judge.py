"""Fact judge benchmark: how well the judge's p(yes) tells the fact that answers a caller from
the facts that only sit near the question, on the grounding question sets.

For each question of tests/grounding/<template>.<split>.yaml the facts are retrieved as a reply
would get them (the asked assistant's index, misheard office words repaired, down to the judge's
own score floor) and the judge (appliance/assistants/fact_judge.py) is asked about each of the
first MAX_FACTS. Reported: for answerable questions (answerable, mixed, indirect, garbled) the
expected fact's p(yes), whether it was retrieved at all, and whether the judge would pick it; for
unanswerable ones the highest p(yes) of any fact (a pick there is a nearby fact said as if it
answered). No reply is generated, so a run takes about a minute a template.

    .venv/bin/python bench/bench_fact_judge.py [--split dev|eval] [--templates starter,trade]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_grounding import ANSWERABLE, load_questions  # noqa: E402
from bench_routing import machine, summary  # noqa: E402

from appliance.assistants import fact_judge  # noqa: E402
from appliance.assistants.facts import JUDGE_MIN_SCORE  # noqa: E402
from appliance.config import TEMPLATES, load_template  # noqa: E402
from appliance.engine import Engine  # noqa: E402


def probe(engine: Engine, q: dict[str, Any], judge_ms: list[float]) -> dict[str, Any]:
    index = engine.facts[q["assistant"]]
    asked = index.words.repair(q["ask"])
    found = index.retrieve(asked, min_score=JUDGE_MIN_SCORE)
    t0 = time.perf_counter()
    picked, probs = engine.judge.pick(asked, found)
    if probs:
        judge_ms.append((time.perf_counter() - t0) * 1000 / len(probs))
    # every retrieved fact's p(yes), not only until the judge was sure
    every = {f.fact.topic: engine.judge.p_yes(asked, f) for f in found[: fact_judge.MAX_FACTS]}
    return {
        "ask": q["ask"],
        "kind": q["kind"],
        "assistant": q["assistant"],
        "expected_fact": q.get("fact"),
        "retrieved": [f.fact.topic for f in found[: fact_judge.MAX_FACTS]],
        "p_yes": {k: round(v, 3) for k, v in every.items()},
        "picked": picked.fact.topic if picked else None,
    }


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ans = [r for r in rows if r["kind"] in ANSWERABLE]
    una = [r for r in rows if r["kind"] not in ANSWERABLE]
    return {
        "answerable": len(ans),
        "expected_retrieved": sum(1 for r in ans if r["expected_fact"] in r["retrieved"]),
        "expected_picked": sum(1 for r in ans if r["picked"] == r["expected_fact"]),
        "other_picked": sum(1 for r in ans if r["picked"] not in (None, r["expected_fact"])),
        "unanswerable": len(una),
        "unanswerable_none_picked": sum(1 for r in una if r["picked"] is None),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="dev", choices=("dev", "eval"))
    ap.add_argument("--templates", default=",".join(TEMPLATES))
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    judge_ms: list[float] = []
    for name in args.templates.split(","):
        engine = Engine(load_template(name))
        for q in load_questions(name, args.split):
            row = probe(engine, q, judge_ms)
            row["template"] = name
            rows.append(row)
            if not args.quiet:
                ok = (
                    row["picked"] == row["expected_fact"]
                    if row["kind"] in ANSWERABLE
                    else row["picked"] is None
                )
                print(
                    f"{'ok  ' if ok else 'MISS'} {name:10} {row['kind']:12} {q['ask'][:60]!r} "
                    f"exp={row['expected_fact']} picked={row['picked']} {row['p_yes']}",
                    flush=True,
                )
        engine.close()
    out = {
        "machine": machine(),
        "split": args.split,
        "accept": fact_judge.ACCEPT,
        "score": score(rows),
        "judge_ms_per_fact": summary(judge_ms),
        "rows": rows,
    }
    suffix = "" if args.split == "eval" else f"-{args.split}"
    path = ROOT / "bench" / "results" / f"fact_judge{suffix}.json"
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False))
    print(json.dumps(out["score"]), out["judge_ms_per_fact"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
