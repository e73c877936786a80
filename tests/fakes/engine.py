"""An `Engine` on the fakes: `Engine.from_parts` with a hashing embedder and a scripted brain."""

from __future__ import annotations

from appliance.config import Config
from appliance.conversation import Listener
from appliance.engine import Engine

from .brain import ScriptedBrain
from .embedder import HashingEmbedder


def fake_engine(
    cfg: Config,
    brain: ScriptedBrain | None = None,
    *,
    embedder: HashingEmbedder | None = None,
    listeners: list[Listener] | None = None,
) -> Engine:
    return Engine.from_parts(
        cfg,
        llm_name="scripted",
        embedder=embedder or HashingEmbedder(),
        brain=brain or ScriptedBrain(),
        listeners=listeners,
    )
