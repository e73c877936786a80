"""Grounding benchmark: fact questions to every template's team, on the default model.

For each question of tests/grounding/<template>.<split>.yaml a new text conversation starts
with the question's assistant, and the caller asks it. The outcome:
- answerable (answerable, indirect, garbled, and the answerable part of mixed): `right` when
  the spoken reply contains the expected fact tokens, `deferred` when the box said it does not
  have the information (a miss: the fact exists), else `wrong`;
- unanswerable: `deferred` (the right outcome; a message for the team was recorded:
  `message`), `vague` (no deferral, but no checkable claim either), `claimed` (a number, name
  or policy word stated: a fact applied to the wrong question, since the check lets only what
  the office facts say through).
Also: the sentences the check kept from the caller, and how many of those were in fact right
(every claim is in the assistant's complete facts, or an expected token was in it); the time of
retrieval per turn and of the check per sentence (median, p95). Prints markdown tables; writes
JSON to bench/results/grounding[-<split>].json.

    .venv/bin/python bench/bench_grounding.py [--split dev|eval] [--templates starter,trade]
        [--llm NAME] [--no-check]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_routing import machine, summary  # noqa: E402

from appliance import conversation  # noqa: E402
from appliance.assistants import grounding  # noqa: E402
from appliance.assistants.grounding import Support, claims, unsupported  # noqa: E402
from appliance.config import TEMPLATES, load_template  # noqa: E402
from appliance.engine import Engine  # noqa: E402
from appliance.flows import deferred_reply  # noqa: E402

ANSWERABLE = {"answerable", "indirect", "garbled", "mixed"}


class PassAll(grounding.GroundingGuard):
    """The baseline (--no-check): every sentence is spoken, as before the check existed."""

    def _ok(self, chunk: str) -> bool:
        self.checked += 1
        self.released.append(chunk)
        return True


def load_questions(template: str, split: str) -> list[dict[str, Any]]:
    path = ROOT / "tests" / "grounding" / f"{template}.{split}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions: list[dict[str, Any]] = data["questions"]
    return questions


def contains(text: str, tokens: list[str]) -> bool:
    low = text.lower()
    return any(t.lower() in low for t in tokens)


def all_facts(engine: Engine, assistant: str) -> Support:
    """Everything the office told this assistant (all its facts, not only the retrieved)."""
    cfg = engine.cfg
    a = cfg.assistant(assistant)
    texts = [f"{f.topic}: {f.answer}" for f in [*cfg.team.facts, *a.facts]]
    return Support.of([*texts, a.system_prompt, a.greeting])


def ask(engine: Engine, q: dict[str, Any], check_ms: list[float]) -> dict[str, Any]:
    conv = engine.new_conversation(channel="bench", assistant=q["assistant"])
    conv.start()
    try:
        r = conv.handle(q["ask"])
        message = conv.message is not None
        support = conv.support()
    finally:
        conv.end("bench")
    reply = r.reply
    # the check's cost, per sentence of what was spoken (the same code as in the reply)
    guard = grounding.GroundingGuard(support, language=engine.cfg.assistant(r.assistant).language)
    t0 = time.perf_counter()
    guard.feed(reply)
    guard.flush()
    if guard.checked:
        check_ms.append((time.perf_counter() - t0) * 1000 / guard.checked)
    deferred = deferred_reply(r)
    kind = q["kind"]
    if kind in ANSWERABLE:
        ok = contains(reply, q.get("expect_any") or [""]) and all(
            t.lower() in reply.lower() for t in q.get("expect_all") or []
        )
        outcome = "right" if ok else "deferred" if deferred else "wrong"
    else:
        has_claims = bool(claims(reply.replace(engine.cfg.speech.deferral_for("en"), "")))
        outcome = "deferred" if deferred else "claimed" if has_claims else "vague"
    blocked_right = None
    if r.blocked:
        full = all_facts(engine, r.assistant)
        blocked_right = not unsupported(r.blocked, full) or (
            kind in ANSWERABLE and contains(r.blocked, q.get("expect_any") or [])
        )
    return {
        "template": "",
        "ask": q["ask"],
        "kind": kind,
        "assistant": q["assistant"],
        "answered_by": r.assistant,
        "facts": r.facts,
        "expected_fact": q.get("fact"),
        "reply": reply,
        "blocked": r.blocked,
        "blocked_right": blocked_right,
        "outcome": outcome,
        "message": message,
        "facts_ms": round(r.timings.get("facts_ms", 0.0), 2),
        "latency_ms": r.latency_ms,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| template | answerable right | missed (deferred) | wrong | unanswerable deferred |"
        " vague | claimed | blocked (right) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by.setdefault(row["template"], []).append(row)
    for name, items in [*by.items(), ("all", rows)]:
        ans = [x for x in items if x["kind"] in ANSWERABLE]
        una = [x for x in items if x["kind"] not in ANSWERABLE]
        a, u = Counter(x["outcome"] for x in ans), Counter(x["outcome"] for x in una)
        blocked = [x for x in items if x["blocked"]]
        right = sum(1 for x in blocked if x["blocked_right"])
        lines.append(
            f"| {name} | {a['right']}/{len(ans)} | {a['deferred']} | {a['wrong']} | "
            f"{u['deferred']}/{len(una)} | {u['vague']} | {u['claimed']} | "
            f"{len(blocked)} ({right}) |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="dev", choices=("dev", "eval"))
    ap.add_argument("--templates", default=",".join(TEMPLATES))
    ap.add_argument("--llm", default=None)
    ap.add_argument("--no-check", action="store_true", help="baseline: the check lets all through")
    args = ap.parse_args()
    if args.no_check:
        conversation.GroundingGuard = PassAll  # type: ignore[misc]
    rows: list[dict[str, Any]] = []
    check_ms: list[float] = []
    for name in args.templates.split(","):
        engine = Engine(load_template(name), llm=args.llm)
        for q in load_questions(name, args.split):
            row = ask(engine, q, check_ms)
            row["template"] = name
            rows.append(row)
            print(
                f"{name:11} {row['kind']:12} {row['outcome']:9} {q['ask'][:50]!r} -> "
                f"{row['reply'][:90]!r}",
                flush=True,
            )
        engine.close()
    facts_ms = [r["facts_ms"] for r in rows]
    out = {
        "machine": machine(),
        "split": args.split,
        "check": not args.no_check,
        "retrieval_ms": summary(facts_ms),
        "check_ms_per_sentence": {
            k: round(v, 3) if isinstance(v, float) else v for k, v in summary(check_ms).items()
        },
        "turn_ms": summary([r["latency_ms"] for r in rows]),
        "rows": rows,
    }
    if check_ms:
        out["check_ms_per_sentence"]["median"] = round(statistics.median(check_ms), 3)
    suffix = "" if args.split == "eval" else f"-{args.split}"
    suffix += "-nocheck" if args.no_check else ""
    path = ROOT / "bench" / "results" / f"grounding{suffix}.json"
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False))
    print()
    print(table(rows))
    print()
    print(f"retrieval per turn (ms): {out['retrieval_ms']}")
    print(f"check per sentence (ms): {out['check_ms_per_sentence']}")
    print(f"turn latency (ms): {out['turn_ms']}; {out['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
