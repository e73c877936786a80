"""The tool registry and the config checker's tool rules: only tools with code may be granted,
and the shipped templates promise nothing the box does not do."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from appliance.assistants.lint import lint
from appliance.config import (
    TEMPLATES,
    Assistant,
    dump_config,
    load_config,
    load_template,
    parse_config,
)
from appliance.tools import PLANNED, TOOLS

# what the templates used to tell callers (issue 11, item 2): each is something the box never did
FALSE_PROMISES = re.compile(
    r"confirm the booking|open (a|an) (\w+ )?ticket|calls? back (today|within)|"
    r"within \d+ minutes|on site within|we can add|vereinbarst|to book (it|a time|the)",
    re.IGNORECASE,
)


def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(dump_config(load_config()))
    return data


def _messages(data: dict[str, Any]) -> list[str]:
    return [str(p) for p in lint(parse_config(data))]


def test_every_tool_has_code_and_planned_ones_are_not_tools() -> None:
    assert set(TOOLS) == {
        "handoff", "transfer_to_human", "take_message", "tickets", "leads", "calendar"
    }
    assert all(callable(t.code) and t.does for t in TOOLS.values())
    assert not set(PLANNED) & set(TOOLS)
    assert set(PLANNED) == {"end_call"}


@pytest.mark.parametrize("tool", ["end_call"])
def test_a_tool_without_code_is_an_error(tool: str) -> None:
    data = _data()
    data["assistants"][1]["tools"] = ["handoff", tool]
    errors = [p for p in lint(parse_config(data)) if p.level == "error"]
    assert [p.location for p in errors] == ["assistants[1] (sales).tools"]
    assert f"tool '{tool}' has no implementation on this box" in errors[0].message


def test_an_unknown_tool_is_still_an_error() -> None:
    data = _data()
    data["assistants"][1]["tools"].append("teleport")
    assert any("unknown tool 'teleport'" in m and m.startswith("error") for m in _messages(data))


def test_handoff_is_implied_no_false_warning() -> None:
    data = _data()
    data["assistants"][0]["tools"] = ["transfer_to_human"]  # rules, but no handoff tool
    assert not [m for m in _messages(data) if "handoff tool" in m or "rules are ignored" in m]


def test_end_call_is_no_way_out_of_a_cycle() -> None:
    data = _data()
    for a in data["assistants"]:
        if a["name"] in ("sales", "support"):
            a["tools"] = ["handoff", "end_call"]
            a["handoffs"] = [r for r in a["handoffs"] if r["target"] in ("sales", "support")]
    text = "\n".join(_messages(data))
    assert "cycle with no exit" in text and "sales, support" in text


def test_an_assistant_answering_a_sip_account_is_reachable() -> None:
    data = _data()
    for a in data["assistants"]:
        a["handoffs"] = [r for r in a["handoffs"] if r["target"] != "german"]
    before = _messages(data)
    assert any("(german): unreachable" in m for m in before)
    data["sip"]["accounts"] = [{"registrar": "127.0.0.1", "user": "104", "entry": "german"}]
    assert not [m for m in _messages(data) if "unreachable" in m]


def test_a_new_assistant_gets_no_tool_without_code() -> None:
    assert not set(Assistant(name="billing", title="Billing", system_prompt="x").tools) & set(
        PLANNED
    )


@pytest.mark.parametrize("name", TEMPLATES)
def test_templates_grant_only_tools_with_code_and_promise_nothing_false(name: str) -> None:
    cfg = load_template(name)
    assert not [p for p in lint(cfg) if p.level == "error"]
    assert any("take_message" in a.tools for a in cfg.assistants)
    for a in cfg.assistants:
        assert set(a.tools) <= set(TOOLS), a.name
        texts = [a.system_prompt, a.greeting, *(r.announcement for r in a.handoffs)]
        for text in texts:
            assert not FALSE_PROMISES.search(text), f"{name}/{a.name}: {text}"
        if "call you back" in a.system_prompt or "zurück" in a.system_prompt:
            assert "take_message" in a.tools, f"{name}/{a.name} promises a callback"


def test_each_tool_says_what_it_works_with_and_where() -> None:
    from appliance.tools import ALL_CHANNELS

    for tool in TOOLS.values():
        assert tool.arguments and all(tool.arguments.values()), tool.name
        assert tool.channels and tool.channels <= ALL_CHANNELS, tool.name
    person = TOOLS["transfer_to_human"]
    assert person.works_on("sip") and not person.works_on("text")  # a person needs a phone call
    assert TOOLS["take_message"].works_on("text") and TOOLS["take_message"].works_on("sip")


def test_the_tui_offers_exactly_the_registry() -> None:
    from tui.assistants import TOOL_ORDER

    assert list(TOOLS) == TOOL_ORDER
