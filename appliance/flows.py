"""`voicebox test-flows`: scripted conversations with expectations per turn."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from appliance.assistants.grounding import says_deferral
from appliance.config.strict import StrictModel
from appliance.conversation import TurnResult
from appliance.engine import Engine
from appliance.errors import FlowError

_LOGGER = logging.getLogger(__name__)


class Expect(StrictModel):
    """What must hold after a turn (every field optional)."""

    assistant: str | None = None
    """The assistant active after this turn."""
    slots: dict[str, str] = Field(default_factory=dict)
    """Slots that must be collected (subset, case-insensitive)."""
    reply_contains: list[str] = Field(default_factory=list)
    """Phrases the spoken answer (announcement + reply) must contain, case-insensitive."""
    reply_not_contains: list[str] = Field(default_factory=list)
    """Phrases the spoken answer must not contain (an invented price, a wrong day)."""
    grounded: bool | None = None
    """true: the reply answered from the office facts (no sentence was kept from the caller,
    no deferral); false: the box said it does not have that information (a deferral)."""
    facts: list[str] = Field(default_factory=list)
    """Topics of office facts that must have been given to the reply (case-insensitive)."""
    tool: str | None = None
    """A tool call this turn must have run: calendar.book, calendar.move, calendar.cancel,
    calendar.free, tickets.open, leads.record; `none`: no tool ran this turn."""
    tool_result: str = "ok"
    """The result that call must have had: ok, conflict, failed, invalid or not found."""
    tool_args: dict[str, str] = Field(default_factory=dict)
    """Arguments the call must have had (subset; a value matches the start of the argument,
    case-insensitive, so start: 2026-12-08T10:00 matches any seconds and zone)."""


class FlowTurn(StrictModel):
    caller: str = Field(min_length=1)
    """What the caller says."""
    expect: Expect = Field(default_factory=Expect)
    """Expectations after the turn."""


class Scenario(StrictModel):
    name: str
    """Shown in the results."""
    start: str | None = None
    """Assistant that answers first (default: the team's entry)."""
    caller: str = ""
    """The caller id (a number, or a SIP URI), e.g. +4930123456: contacts and the caller's
    own appointments are found by it."""
    turns: list[FlowTurn] = Field(min_length=1)
    """The caller's lines, in order."""


class FlowFile(StrictModel):
    config: str | None = None
    """Config file (relative to this file) or template name; default: the starter team."""
    scenarios: list[Scenario] = Field(min_length=1)
    """The scripted conversations."""


def load_flows(path: Path) -> FlowFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise FlowError(f"cannot read {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise FlowError(f"{path}: invalid YAML: {err}") from err
    try:
        return FlowFile.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise FlowError(f"{path}: {loc}: {first['msg']} ({err.error_count()} problem(s))") from err


def _norm(text: str) -> str:
    return re.sub(r"[\s.,!?]+", " ", text.lower()).strip()


def mismatch(expect: Expect, result: TurnResult) -> str | None:
    """The first difference between an expectation and a turn, or None when it passes."""
    if expect.assistant is not None and result.assistant != expect.assistant:
        return f"expected assistant {expect.assistant}, got {result.assistant}"
    for key, want in expect.slots.items():
        got = result.slots.get(key)
        if got is None or _norm(got) != _norm(want):
            return f"expected slot {key}={want!r}, got {got!r}"
    spoken = result.spoken.lower()
    for phrase in expect.reply_contains:
        if phrase.lower() not in spoken:
            return f"expected the reply to contain {phrase!r}, got {result.spoken!r}"
    for phrase in expect.reply_not_contains:
        if phrase.lower() in spoken:
            return f"expected the reply not to contain {phrase!r}, got {result.spoken!r}"
    for topic in expect.facts:
        if topic.lower() not in {t.lower() for t in result.facts}:
            return f"expected the fact {topic!r} to be given, got {result.facts}"
    problem = tool_mismatch(expect, result)
    if problem:
        return problem
    if expect.grounded is not None:
        deferred = deferred_reply(result)
        if expect.grounded and deferred:
            why = f"kept from the caller: {result.blocked!r}" if result.blocked else "it deferred"
            return f"expected an answer from the office facts, {why} ({result.spoken!r})"
        if not expect.grounded and not deferred:
            return f"expected a deferral (no office fact answers it), got {result.spoken!r}"
    return None


def tool_mismatch(expect: Expect, result: TurnResult) -> str | None:
    """The turn did not run the expected tool call (with its result and arguments)."""
    if expect.tool is None:
        return None
    ran = [f"{t['tool']} ({t['result']})" for t in result.tools]
    if expect.tool == "none":
        return f"expected no tool call, got {', '.join(ran)}" if ran else None
    for t in result.tools:
        args = t["args"]
        assert isinstance(args, dict)
        if t["tool"] != expect.tool or t["result"] != expect.tool_result:
            continue
        wrong = [
            k for k, want in expect.tool_args.items()
            if not str(args.get(k, "")).lower().startswith(want.lower())
        ]  # fmt: skip
        if not wrong:
            return None
        return f"expected {expect.tool} with {expect.tool_args}, got {args}"
    got = ", ".join(ran) or "no tool call"
    return f"expected the tool call {expect.tool} ({expect.tool_result}), got {got}"


def deferred_reply(result: TurnResult) -> bool:
    """The box said it does not have the information: a sentence was kept from the caller
    (the deferral was said), or the reply itself says so."""
    kept = result.blocked is not None and not result.answered
    return kept or says_deferral(result.reply)


def turn_record(
    scenario: str, index: int, turn: FlowTurn, r: TurnResult, problem: str | None
) -> dict[str, Any]:
    handoff = None
    if r.handoff:
        handoff = {k: r.handoff[k] for k in ("from", "to", "path", "scores")}
    return {
        "scenario": scenario,
        "turn": index,
        "caller": turn.caller,
        "expected": turn.expect.model_dump(exclude_defaults=True),
        "assistant": r.assistant,
        "handoff": handoff,
        "slots": r.slots,
        "reply": r.spoken,
        "latency_ms": r.latency_ms,
        "pass": problem is None,
        "mismatch": problem,
        "fixed": r.fixed,  # a fixed phrase answered: emergency | injection | leak
        "facts": r.facts,  # topics of the office facts given to the reply
        "blocked": r.blocked,  # the sentence the grounding check kept from the caller
        "tools": r.tools,  # the tool calls of the turn: tool, result, args
        "decision": {
            "path": r.decision.path,
            "refused": r.refused is not None or r.decision.verdict == "injection",
            "reason": r.refused or r.decision.reason,
            "target": r.decision.target,
            "scores": r.decision.scores,
        },
    }


def run_flows(
    flows: FlowFile,
    engine: Engine,
    *,
    on_turn: Callable[[dict[str, Any]], None] | None = None,
    on_scenario: Callable[[str, str | None], None] | None = None,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Run every scenario; returns (passed, failed) scenarios. `now`: the office's clock fixed
    at that time (relative dates become testable)."""
    passed = failed = 0
    for sc in flows.scenarios:
        conv = engine.new_conversation(channel="flows", assistant=sc.start, caller=sc.caller)
        if now is not None:
            conv.now = lambda: now
        conv.start()
        first_problem = None
        try:
            for i, turn in enumerate(sc.turns, start=1):
                result = conv.handle(turn.caller)
                problem = mismatch(turn.expect, result)
                if problem and first_problem is None:
                    first_problem = f"turn {i}: {problem}"
                if on_turn:
                    on_turn(turn_record(sc.name, i, turn, result, problem))
        finally:
            conv.end("flow finished")
        if first_problem is None:
            passed += 1
        else:
            failed += 1
        if on_scenario:
            on_scenario(sc.name, first_problem)
    return passed, failed


def resolve_config_ref(flows: FlowFile, flow_path: Path, override: str | None) -> str | None:
    """The config to use: --config wins, then the file's `config:` (relative to the file)."""
    if override:
        return override
    ref = flows.config
    if ref is None:
        return None
    candidate = flow_path.parent / ref
    return str(candidate) if candidate.exists() else ref


def print_json(record: dict[str, Any]) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)
