"""The config checker's fact checks: duplicate topics, contradicting numbers, facts no caller
reaches (an unreachable assistant, a topic that does not retrieve its fact), a call back
promised by an assistant that cannot take a message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from fakes import HashingEmbedder

from appliance.assistants.lint import Problem, lint, normal_topic
from appliance.config import Config, dump_config, load_template, parse_config


def _fact(topic: str, answer: str, *examples: str) -> dict[str, Any]:
    return {"topic": topic, "answer": answer, "examples": list(examples)}


def _starter(edit: Callable[[dict[str, Any]], None]) -> Config:
    data = yaml.safe_load(dump_config(load_template("starter")))
    edit(data)
    return parse_config(data)


def _index(data: dict[str, Any], name: str) -> int:
    return [a["name"] for a in data["assistants"]].index(name)


def _about(problems: list[Problem], word: str) -> list[Problem]:
    return [p for p in problems if word in p.message]


def test_normal_topic_ignores_case_and_punctuation() -> None:
    assert normal_topic("  Opening   Hours! ") == normal_topic("opening hours") == "opening hours"


def test_the_starter_team_has_no_fact_warnings() -> None:
    problems = lint(load_template("starter"), HashingEmbedder())
    assert [p for p in problems if "facts" in p.location] == []


def test_duplicate_topic_in_team_facts() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["team"]["facts"].append(_fact("Opening Hours", "Ask at the desk."))

    cfg = _starter(edit)
    last = len(cfg.team.facts) - 1
    found = _about(lint(cfg), "duplicate topic")
    assert [(p.level, p.location) for p in found] == [("warning", f"team.facts[{last}]")]
    assert "team.facts[0]" in found[0].message


def test_duplicate_topic_in_one_assistants_facts() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["assistants"][_index(data, "sales")]["facts"].append(
            _fact("basic package", "The Basic package is our smallest package.")
        )

    cfg = _starter(edit)
    ai = cfg.names.index("sales")
    found = _about(lint(cfg), "duplicate topic")
    assert len(found) == 1
    assert (
        found[0].location == f"assistants[{ai}] (sales).facts[{len(cfg.assistants[ai].facts) - 1}]"
    )
    assert f"assistants[{ai}] (sales).facts[0]" in found[0].message


def test_assistant_fact_repeating_a_team_topic() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["assistants"][_index(data, "support")]["facts"].append(
            _fact("opening hours", "Support answers while the office is open.")
        )

    cfg = _starter(edit)
    found = _about(lint(cfg), "duplicate topic")
    assert len(found) == 1 and "(support).facts[" in found[0].location
    assert "the team fact team.facts[0]" in found[0].message


def test_same_topic_on_two_assistants_is_no_duplicate() -> None:
    def edit(data: dict[str, Any]) -> None:
        for name in ("sales", "support"):
            data["assistants"][_index(data, name)]["facts"].append(
                _fact("parking", "Use the visitors' spaces.")
            )

    assert _about(lint(_starter(edit)), "duplicate topic") == []


def test_contradicting_numbers_team_versus_assistant() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["assistants"][_index(data, "support")]["facts"].append(
            _fact("Opening hours", "We are open Monday to Friday 9 am to 5 pm.")
        )

    cfg = _starter(edit)
    found = _about(lint(cfg), "contradicts")
    assert len(found) == 1 and found[0].level == "warning"
    assert "(support).facts[" in found[0].location and "team.facts[0]" in found[0].message
    assert "5, 9 here" in found[0].message and "1, 6, 8, 9 there" in found[0].message


def test_contradicting_numbers_across_assistants() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["assistants"][_index(data, "sales")]["facts"].append(
            _fact("visit fee", "A technician visit costs 80 dollars.")
        )
        data["assistants"][_index(data, "support")]["facts"].append(
            _fact("Visit fee", "A technician visit costs 95 dollars.")
        )

    found = _about(lint(_starter(edit)), "contradicts")
    assert len(found) == 1
    assert "(support)" in found[0].location and "(sales)" in found[0].message


def test_same_numbers_or_no_numbers_do_not_contradict() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["assistants"][_index(data, "sales")]["facts"].append(
            _fact("visit fee", "A technician visit costs 80 dollars.")
        )
        data["assistants"][_index(data, "support")]["facts"].append(
            _fact("visit fee", "The visit fee is 80 dollars, billed with the invoice.")
        )
        data["assistants"][_index(data, "scheduling")]["facts"].append(
            _fact("visit fee", "Ask sales about the visit fee.")
        )

    assert _about(lint(_starter(edit)), "contradicts") == []


def test_facts_on_an_unreachable_assistant() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["assistants"].append(
            {
                "name": "billing",
                "title": "Billing",
                "system_prompt": "You answer billing questions.",
                "facts": [_fact("invoices", "Invoices go out on the 1st of the month.")],
            }
        )

    cfg = _starter(edit)
    ai = cfg.names.index("billing")
    found = _about(lint(cfg), "no caller hears")
    assert [(p.level, p.location) for p in found] == [
        ("warning", f"assistants[{ai}] (billing).facts")
    ]
    assert "unreachable" in found[0].message


def test_fact_its_topic_does_not_retrieve() -> None:
    def edit(data: dict[str, Any]) -> None:
        # nothing in "Other" the retrieval can match (a stop word, too short for a keyword)
        data["assistants"][_index(data, "sales")]["facts"].append(
            _fact("to do", "Ask for the price list.")
        )

    cfg = _starter(edit)
    ai = cfg.names.index("sales")
    found = _about(lint(cfg, HashingEmbedder()), "does not retrieve")
    assert len(found) == 1 and found[0].level == "warning"
    assert (
        found[0].location == f"assistants[{ai}] (sales).facts[{len(cfg.assistants[ai].facts) - 1}]"
    )
    assert _about(lint(cfg), "does not retrieve") == []  # without an embedder: not checked


def test_team_fact_its_topic_does_not_retrieve() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["team"]["facts"].append(_fact("it", "Call the office."))

    cfg = _starter(edit)
    found = _about(lint(cfg, HashingEmbedder()), "does not retrieve")
    assert [p.location for p in found] == [f"team.facts[{len(cfg.team.facts) - 1}]"]


def test_call_back_promise_without_take_message() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["assistants"][_index(data, "frontdesk")]["facts"] = [
            _fact("demo", "Someone will call you to arrange a demo.")
        ]

    cfg = _starter(edit)
    assert "take_message" not in cfg.assistant("frontdesk").tools
    found = _about(lint(cfg), "promises a call back")
    assert [p.location for p in found] == ["assistants[0] (frontdesk).facts[0]"]
    assert "'Someone will call'" in found[0].message and "take_message" in found[0].message


def test_call_back_promise_with_take_message_is_fine() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["assistants"][_index(data, "sales")]["facts"].append(
            _fact("demo", "We'll take your details and call you back to arrange a demo.")
        )

    assert "take_message" in _starter(edit).assistant("sales").tools
    assert _about(lint(_starter(edit)), "promises a call back") == []


def test_team_fact_promising_a_call_back_names_who_cannot() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["team"]["facts"].append(_fact("callbacks", "The team calls you back within a day."))

    cfg = _starter(edit)
    without = [a.name for a in cfg.assistants if "take_message" not in a.tools]
    assert without  # the front desk routes; it takes no messages
    found = _about(lint(cfg), "promises a call back")
    assert len(found) == 1 and found[0].location == f"team.facts[{len(cfg.team.facts) - 1}]"
    assert all(n in found[0].message for n in without)
