from __future__ import annotations

from dataclasses import dataclass

from appliance.assistants.carryover import carryover_messages
from appliance.config import HandoffRule, HistoryPolicy, load_config


@dataclass
class L:
    role: str
    assistant: str
    text: str


LINES = [
    L("assistant", "frontdesk", "Hello, how can I help?"),
    L("caller", "frontdesk", "I'm Ann from Initech."),
    L("assistant", "frontdesk", "Nice to meet you, Ann."),
    L("caller", "frontdesk", "What does premium cost?"),
]


def _messages(policy: HistoryPolicy, last_n: int = 2, summary: str | None = "S") -> list:
    rule = HandoffRule(
        target="sales",
        condition="asks about pricing",
        history=policy,
        last_n=last_n,
        announcement="Connecting you to sales.",
    )
    target = load_config().assistant("sales")
    return carryover_messages(
        rule,
        source_title="Front desk",
        target=target,
        lines=list(LINES),
        slots={"name": "Ann", "company": "Initech"},
        summary=summary,
    )


def test_slots_and_trigger_always_travel() -> None:
    for policy in HistoryPolicy:
        msgs = _messages(policy)
        assert msgs[0].role == "system"
        assert "name: Ann" in msgs[0].content and "company: Initech" in msgs[0].content
        assert "Connecting you to sales." in msgs[0].content
        assert msgs[-1].role == "user" and msgs[-1].content == "What does premium cost?"


def test_full_history_keeps_every_line_in_order() -> None:
    msgs = _messages(HistoryPolicy.FULL)
    assert [m.content for m in msgs[1:]] == [ln.text for ln in LINES]


def test_last_n_keeps_only_the_last_lines_before_the_trigger() -> None:
    msgs = _messages(HistoryPolicy.LAST_N, last_n=2)
    assert [m.content for m in msgs[1:]] == [LINES[1].text, LINES[2].text, LINES[3].text]


def test_summary_and_none_send_no_lines() -> None:
    s = _messages(HistoryPolicy.SUMMARY, summary="Ann wants premium pricing.")
    assert len(s) == 2 and "Ann wants premium pricing." in s[0].content
    n = _messages(HistoryPolicy.NONE, summary="ignored")
    assert len(n) == 2 and "ignored" not in n[0].content
