"""Whole conversations on the real engine (SmolLM2 for speed; the 1.5B runs the flow suite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from appliance.config import dump_config, load_config, parse_config
from appliance.engine import Engine, profile_key
from appliance.events import Event
from appliance.store import Store


def _conv(engine: Any, events: list[Event], **kw: Any) -> Any:
    conv = engine.new_conversation(listeners=[events.append], **kw)
    conv.start()
    return conv


def test_handoff_switches_profile_and_records_everything(smol_engine: Any, tmp_path: Path) -> None:
    store = Store(tmp_path / "vb.db")
    events: list[Event] = []
    conv = smol_engine.new_conversation(listeners=[events.append, store.record])
    greeting = conv.start()
    assert "Brightline" in greeting
    r1 = conv.handle("Hi, my name is Maria Lopez.")
    assert r1.assistant == "frontdesk" and r1.handoff is None and r1.reply
    r2 = conv.handle("How much does the premium package cost?")
    assert r2.assistant == "sales"
    assert r2.handoff is not None and r2.handoff["from"] == "frontdesk"
    assert r2.announcement == "Let me connect you with our sales assistant."
    # the conversation's context now starts with the sales profile's cached prefix
    state = smol_engine.brain.prefixes.get(profile_key(smol_engine.cfg.assistant("sales")))
    assert tuple(conv.session.tokens[: len(state.tokens)]) == state.tokens
    types = [e.type for e in events]
    assert types.count("handoff") == 1 and types.count("handoff_completed") == 1
    done = next(e for e in events if e.type == "handoff_completed")
    assert done.switch_ms < 50  # a KV restore, not a re-evaluation of the prompt
    conv.end()
    saved = store.conversation(conv.id)
    assert saved["final_assistant"] == "sales" and saved["end_reason"] == "caller hung up"
    assert saved["handoffs"][0]["to_assistant"] == "sales"
    assert [t["role"] for t in saved["turns_list"]].count("caller") == 2
    decisions = store.query(
        "SELECT outcome, path FROM decisions WHERE conversation_id=?", (conv.id,)
    )
    assert [d["outcome"] for d in decisions] == ["stay", "handoff"]


def test_hop_limit_refuses_and_is_recorded(tmp_path: Path) -> None:
    data = yaml.safe_load(dump_config(load_config()))
    data["team"]["max_handoffs"] = 1
    data["routing"] = {"llm_check": False}
    engine = Engine(parse_config(data), llm="smollm2-135m")
    try:
        events: list[Event] = []
        conv = _conv(engine, events)
        assert conv.handle("How much does the premium package cost?").assistant == "sales"
        r = conv.handle("Can we book a meeting for Monday?")
        assert r.assistant == "sales" and r.refused and "hop limit" in r.refused
        refused = [e for e in events if e.type == "routing" and e.outcome == "refused"]
        assert len(refused) == 1 and refused[0].target == "scheduling"
    finally:
        engine.close()


def test_confirmation_question_before_transfer() -> None:
    data = yaml.safe_load(dump_config(load_config()))
    for rule in data["assistants"][0]["handoffs"]:
        if rule["target"] == "sales":
            rule["confirm"] = "Shall I connect you with sales?"
    engine = Engine(parse_config(data), llm="smollm2-135m")
    try:
        events: list[Event] = []
        conv = _conv(engine, events)
        asked = conv.handle("What are your prices?")
        assert asked.assistant == "frontdesk" and asked.reply == "Shall I connect you with sales?"
        declined = conv.handle("No, not now.")
        assert declined.assistant == "frontdesk"
        conv.handle("What are your prices?")
        agreed = conv.handle("Yes please.")
        assert agreed.assistant == "sales" and agreed.decision.path == "confirm"
    finally:
        engine.close()


def test_conversations_on_one_model_are_independent(smol_engine: Any) -> None:
    a = _conv(smol_engine, [])
    b = _conv(smol_engine, [])
    assert a.session is not b.session
    a.handle("How much does the premium package cost?")
    b.handle("What are your opening hours?")
    assert (a.current, b.current) == ("sales", "frontdesk")
    a.end()
    b.end()
