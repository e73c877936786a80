"""Grounded answers on the default 1.5B model with the starter team's office facts: an answer
comes from the facts, an invented discount is never spoken, and the question the box could not
answer becomes a message for the team."""

from __future__ import annotations

import re
from typing import Any

from appliance.events import Event, FactsRetrieved, MessageTaken, SentenceBlocked
from appliance.flows import deferred_reply


def _ask(engine: Any, assistant: str, text: str) -> tuple[Any, list[Event], Any]:
    events: list[Event] = []
    conv = engine.new_conversation(channel="text", assistant=assistant)
    conv.listeners.append(events.append)
    conv.start()
    try:
        return conv.handle(text), events, conv
    finally:
        conv.end("test")


def test_a_price_comes_from_the_facts(qwen_engine: Any) -> None:
    r, events, _ = _ask(qwen_engine, "sales", "How much is the Premium package per month?")
    facts = [e for e in events if isinstance(e, FactsRetrieved)]
    assert facts and any("premium" in t.lower() for t in facts[0].topics), facts
    assert "199" in r.reply and r.blocked is None, r.reply


def test_no_invented_discount_is_spoken(qwen_engine: Any) -> None:
    r, events, conv = _ask(
        qwen_engine, "sales", "Do you give students a ten percent discount on the packages?"
    )
    spoken = r.reply.lower()
    # the starter facts name no discount: the box may say it does not know, never a number
    assert not re.search(r"\b(10|ten)\s*(%|percent)", spoken), r.reply
    assert "student discount" not in spoken or deferred_reply(r), r.reply
    if r.blocked is not None:
        blocked = [e for e in events if isinstance(e, SentenceBlocked)]
        assert blocked and blocked[0].sentence == r.blocked
        assert conv.message is not None and "asked:" in conv.message.what
        assert any(isinstance(e, MessageTaken) for e in events)


def test_the_fact_judge_tells_an_answer_from_a_fact_about_the_same_thing(
    qwen_engine: Any,
) -> None:
    """The judge (appliance/assistants/fact_judge.py) on the real model: the fact that answers
    is accepted, a fact about the same package that does not say what was asked is not."""
    index = qwen_engine.facts["sales"]
    judge = qwen_engine.judge
    answers = "On the phone help desk plan, what do I pay each month?"
    found = index.retrieve(answers, min_score=0.2)
    picked, probs = judge.pick(answers, found)
    assert picked is not None and picked.fact.topic == "Standard package", probs
    same_thing = "Does the Premium package come with a free laptop for every new employee?"
    found = index.retrieve(same_thing, min_score=0.2)
    assert found and found[0].fact.topic == "Premium package"  # retrieval finds the package
    picked, probs = judge.pick(same_thing, found)
    assert picked is None, probs
