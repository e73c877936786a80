"""Flow-file expectations about grounding: reply_not_contains, facts, grounded."""

from __future__ import annotations

from typing import Any

import pytest

from appliance.assistants.router import Decision
from appliance.conversation import TurnResult
from appliance.flows import Expect, deferred_reply, mismatch

DEFERRAL = (
    "I don't have that information here. I can take a message, and someone from the office "
    "will call you back."
)


def result(reply: str, **kw: Any) -> TurnResult:
    return TurnResult(
        turn=1,
        caller="?",
        assistant="sales",
        reply=reply,
        announcement=None,
        decision=Decision(None, "fast", "stay"),
        refused=None,
        handoff=None,
        slots={},
        latency_ms=1.0,
        **kw,
    )


ANSWER = result("Premium is 199 dollars a month.", facts=["Premium package"])
KEPT = result(f"Premium is 199 dollars. {DEFERRAL}", blocked="Students get 10% off.")
SAID = result("Sorry, I don't have that information, but I can take a message.")


def test_an_answer_from_the_facts_passes_grounded_true() -> None:
    assert mismatch(Expect(grounded=True, facts=["premium package"]), ANSWER) is None
    assert not deferred_reply(ANSWER)


@pytest.mark.parametrize("turn", [KEPT, SAID])
def test_a_deferral_fails_grounded_true_and_passes_grounded_false(turn: TurnResult) -> None:
    problem = mismatch(Expect(grounded=True), turn)
    assert problem is not None and problem.startswith("expected an answer from the office facts")
    assert mismatch(Expect(grounded=False), turn) is None


def test_an_answer_fails_grounded_false() -> None:
    problem = mismatch(Expect(grounded=False), ANSWER)
    assert problem is not None and "expected a deferral" in problem


def test_facts_and_reply_not_contains() -> None:
    assert mismatch(Expect(facts=["opening hours"]), ANSWER) == (
        "expected the fact 'opening hours' to be given, got ['Premium package']"
    )
    problem = mismatch(Expect(reply_not_contains=["199"]), ANSWER)
    assert problem is not None and "not to contain '199'" in problem
    assert mismatch(Expect(reply_not_contains=["discount"]), ANSWER) is None
