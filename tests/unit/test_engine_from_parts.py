"""`Engine.from_parts` on fakes (tests/fakes): an engine with no model file warms every prefix it
uses, and `reconfigured` builds the next one on the same parts, warming only what changed."""

from __future__ import annotations

from fakes import HashingEmbedder, ScriptedBrain

from appliance.config import Config, parse_config
from appliance.engine import PROFILE, Engine, profile_key


def _cfg(prompt: str = "You answer the phone.") -> Config:
    return parse_config(
        {
            "team": {"entry": "frontdesk"},
            "assistants": [
                {
                    "name": "frontdesk",
                    "title": "Front desk",
                    "system_prompt": prompt,
                    "handoffs": [{"target": "sales", "condition": "the caller wants to buy"}],
                },
                {"name": "sales", "title": "Sales", "system_prompt": "You sell."},
            ],
        }
    )


def test_from_parts_warms_every_prefix_the_engine_uses() -> None:
    cfg = _cfg()
    brain, embedder = ScriptedBrain(), HashingEmbedder()
    engine = Engine.from_parts(cfg, llm_name="scripted", embedder=embedder, brain=brain)

    assert set(brain.prefixes.keys()) == engine.prefix_keys()
    assert {k for k, _ in engine.profile_keys()} == {profile_key(a) for a in engine.cfg.assistants}
    assert len(engine.router.prefix_keys()) == 1  # only the front desk has handoff rules
    assert engine.brain is brain and engine.embedder is embedder and engine.llm_name == "scripted"
    assert engine.startup_ms >= 0 and engine.listeners == []


def test_reconfigured_shares_the_parts_and_warms_only_what_changed() -> None:
    brain = ScriptedBrain()
    seen: list[object] = []
    old = Engine.from_parts(
        _cfg(),
        llm_name="scripted",
        embedder=HashingEmbedder(),
        brain=brain,
        listeners=[seen.append],
    )
    before = set(brain.prefixes.keys())
    new = old.reconfigured(_cfg("You answer the phone. We open on Saturdays."))

    assert type(new) is Engine and new is not old
    assert new.brain is old.brain and new.embedder is old.embedder and new.model is old.model
    assert new.listeners == old.listeners and new.listeners is not old.listeners
    assert new.startup_ms == old.startup_ms and new.llm_name == old.llm_name
    added = set(brain.prefixes.keys()) - before
    # the changed profile and the router prompt that quotes it; the old ones stay for old calls
    assert added == new.prefix_keys() - old.prefix_keys()
    assert len([k for k, _ in added if k.startswith(PROFILE)]) == 1
    assert old.prefix_keys() <= set(brain.prefixes.keys())
    conv = new.new_conversation(channel="text")
    assert conv.start() == "" and seen  # the listeners reach the new engine's conversations
