"""Two transfer conditions that apply about equally: the caller is asked which they mean, their
answer picks one (by name, by topic words, by order), a different priority decides without a
question, the question is asked once a call, and a config can turn it off. The router's real
decision on the starter team with a scripted LLM check (the probabilities given per phrase)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from fakes import ScriptedBrain
from fakes.engine import fake_engine

from appliance.assistants import ties
from appliance.config import Config, dump_config, load_config, parse_config

BOTH = "my invoice is wrong and the printer is broken"
CLOSE = {"sales": 0.46, "support": 0.41, "stay": 0.13}


def _cfg(**routing: Any) -> Config:
    data = yaml.safe_load(dump_config(load_config()))
    data["routing"] = {"fast_accept": 1.0, "fast_reject": 0.0, **routing}  # always the LLM check
    return parse_config(data)


def _conv(cfg: Config, odds: dict[str, dict[str, float]]) -> tuple[Any, list[Any]]:
    brain = ScriptedBrain(["Happy to help."])
    brain.odds = odds
    events: list[Any] = []
    conv = fake_engine(cfg, brain, listeners=[events.append]).new_conversation(channel="text")
    conv.start()
    return conv, events


def test_two_rules_alike_get_a_question_and_the_answer_picks_one() -> None:
    conv, events = _conv(_cfg(), {BOTH: CLOSE, "support": {"support": 0.9}})
    r1 = conv.handle(f"Hello, {BOTH}.")
    assert r1.reply == ("Just so I connect you with the right colleague: is it for Sales, or "
                        "for Support?")
    assert r1.assistant == "frontdesk" and r1.handoff is None
    routed = [e for e in events if e.type == "routing"]
    assert (routed[-1].outcome, routed[-1].path) == ("clarify", "clarify")
    r2 = conv.handle("It's the printer, that's a support thing.")
    assert r2.assistant == "support" and r2.handoff is not None
    assert r2.decision.path == "clarify" and "chose support" in r2.decision.reason


def test_the_higher_priority_decides_without_a_question() -> None:
    conv, _ = _conv(_cfg(), {BOTH: {"escalation": 0.44, "support": 0.40, "stay": 0.16}})
    r = conv.handle(BOTH)
    assert r.assistant == "escalation" and "priority over" in r.decision.reason


def test_the_question_is_asked_once_a_call_then_the_llm_choice_stands() -> None:
    conv, _ = _conv(_cfg(), {BOTH: CLOSE, "not sure": CLOSE})
    conv.handle(BOTH)
    r = conv.handle("Hmm, I'm not sure.")  # names neither: routed again, a tie again
    assert r.assistant == "sales" and "asked once already" in r.decision.reason


def test_ties_can_be_switched_off_and_a_clear_choice_asks_nothing() -> None:
    conv, _ = _conv(_cfg(clarify_ties=False), {BOTH: CLOSE})
    assert conv.handle(BOTH).assistant == "sales"
    conv, _ = _conv(_cfg(), {BOTH: {"sales": 0.7, "support": 0.2, "stay": 0.1}})
    assert conv.handle(BOTH).assistant == "sales"


@pytest.mark.parametrize(
    ("answer", "target"),
    [
        ("the second one please", "support"),
        ("the first", "sales"),
        ("Sales, I want a quote for the packages", "sales"),
        ("support", "support"),
        ("I don't know", None),
    ],
)
def test_the_answer_names_a_rule_by_order_name_or_topic(answer: str, target: str | None) -> None:
    cfg = load_config()
    rules = {r.target: r for r in cfg.assistant("frontdesk").handoffs}
    picked = ties.pick(cfg, [rules["sales"], rules["support"]], answer)
    assert (picked.target if picked else None) == target
