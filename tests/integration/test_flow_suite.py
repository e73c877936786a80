"""The project's flow suite on the default 1.5B model: routing accuracy must stay >= 95%."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.config import load_config
from appliance.engine import Engine
from appliance.flows import Expect, load_flows, mismatch, resolve_config_ref, run_flows

FLOWS = Path(__file__).resolve().parent.parent / "flows"
pytestmark = pytest.mark.llm15


@pytest.fixture(scope="module")
def suite_rows() -> Iterator[list[dict[str, Any]]]:
    path = FLOWS / "starter.yaml"
    flows = load_flows(path)
    engine = Engine(load_config(resolve_config_ref(flows, path, None)))
    rows: list[dict[str, Any]] = []
    try:
        run_flows(flows, engine, on_turn=rows.append)
        yield rows
    finally:
        engine.close()


def test_the_suite_is_big_enough() -> None:
    flows = load_flows(FLOWS / "starter.yaml")
    assert sum(len(s.turns) for s in flows.scenarios) >= 60


def test_routing_accuracy_is_at_least_95_percent(suite_rows: list[dict[str, Any]]) -> None:
    judged = [r for r in suite_rows if "assistant" in r["expected"]]
    wrong = [
        f"{r['scenario']} #{r['turn']}: {r['caller']!r} -> {r['assistant']} "
        f"(expected {r['expected']['assistant']}; {r['decision']['path']}: "
        f"{r['decision']['reason']})"
        for r in judged
        if r["assistant"] != r["expected"]["assistant"]
    ]
    accuracy = 1 - len(wrong) / len(judged)
    assert accuracy >= 0.95, f"{accuracy:.1%} routing accuracy; wrong:\n" + "\n".join(wrong)


def test_slots_and_replies_mostly_meet_expectations(suite_rows: list[dict[str, Any]]) -> None:
    other = []
    for r in suite_rows:
        exp = {k: v for k, v in r["expected"].items() if k in ("slots", "reply_contains")}
        if exp:
            other.append((r, exp))
    failed = []
    for r, exp in other:
        e = Expect(**exp)

        class _R:
            assistant = r["assistant"]
            slots = r["slots"]
            spoken = r["reply"]

        problem = mismatch(e, _R())  # type: ignore[arg-type]
        if problem:
            failed.append(f"{r['scenario']} #{r['turn']}: {problem}")
    assert len(other) >= 8
    assert len(failed) <= len(other) // 5, "\n".join(failed)


def test_injection_never_reaches_an_unconfigured_destination(
    suite_rows: list[dict[str, Any]],
) -> None:
    cfg = load_config()
    names = set(cfg.names)
    for r in suite_rows:
        assert r["assistant"] in names
        if r["handoff"]:
            assert r["handoff"]["to"] in names
    injected = [
        r
        for r in suite_rows
        if "injection" in r["scenario"]
        or "unconfigured" in r["scenario"]
        or "fake system" in r["scenario"]
    ]
    assert injected and all(r["handoff"] is None for r in injected)
