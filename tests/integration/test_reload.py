"""A config reload on the real engine (SmolLM2): the new engine shares the loaded model, warms
only what changed, and a conversation opened before the reload keeps its profile's KV state."""

from __future__ import annotations

from typing import Any

from appliance.config import Slot, load_config
from appliance.daemon.reload import prune
from appliance.engine import PROFILE, profile_key


def test_reconfigured_engine_shares_the_model_and_old_conversations_keep_their_profile(
    smol_engine: Any,
) -> None:
    old = smol_engine
    conv = old.new_conversation(channel="text")
    conv.start()
    prefixes = old.brain.prefixes
    before = set(prefixes.keys())

    cfg = load_config()
    cfg.assistants[0].system_prompt += "\nAlways mention that we are open on Saturdays."
    cfg.assistants[0].handoffs[0].condition += ", or asks for a brochure"
    cfg.team.slots.append(Slot(name="budget", description="how much the caller wants to spend"))
    new = old.reconfigured(cfg)
    assert new.brain is old.brain and new.model is old.model and new.embedder is old.embedder
    assert new.router is not old.router and new.cfg is cfg and old.cfg is not cfg
    name = cfg.assistants[0].name
    old_key, new_key = profile_key(old.cfg.assistant(name)), profile_key(cfg.assistant(name))
    assert old_key != new_key and old_key.startswith(f"{PROFILE}{name}:")
    added = set(prefixes.keys()) - before
    # only what changed was computed: that profile, its router prompt, the slot prompts
    assert (new_key, ()) in added and not [k for k, _ in added if k.startswith(PROFILE)][1:]
    assert new.router.router_key(name) in {k for k, _ in added}
    assert new.slots.prefix_keys() <= {k for k, _ in added}
    assert added == new.prefix_keys() - old.prefix_keys()
    assert prefixes.get(old_key) is not None  # ...next to the one the old call uses

    # the conversation of before the reload replies on its own profile prefix
    result = conv.handle("Hi, my name is Maria Lopez.")
    assert result.assistant == name and result.reply
    state = prefixes.get(old_key)
    assert tuple(conv.session.tokens[: len(state.tokens)]) == state.tokens
    conv.end()

    # nothing is dropped while an engine uses it; what nobody uses any more goes (profiles,
    # router and slot prompts alike: every reload used to leave a few MB behind)
    prune(new, [old])
    assert old.prefix_keys() | new.prefix_keys() <= set(prefixes.keys())
    prune(old, [])
    assert prefixes.get(new_key) is None and prefixes.get(old_key) is not None
    assert set(prefixes.keys()) == old.prefix_keys()
