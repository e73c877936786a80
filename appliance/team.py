"""Composing the team: one engine (the shared model, the router, the warmed profiles) and the
speech models, from a config. The CLI and the daemon both build their team here."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from appliance.config import Config
from appliance.conversation import Listener
from appliance.engine import Engine
from appliance.speech.voices import SpeechModels
from appliance.store import Store

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Team:
    """What a voice command runs: the engine and the warmed speech models."""

    engine: Engine
    speech: SpeechModels


def load_engine(cfg: Config, *, llm: str | None = None, store: Store | None = None) -> Engine:
    """The engine for `cfg` (`llm` overrides `models.llm`); every conversation is recorded to
    `store` when there is one."""
    listeners: list[Listener] = [store.record] if store is not None else []
    engine = Engine(cfg, llm=llm, listeners=listeners)
    engine.desk = store
    return engine


def load_team(
    cfg: Config,
    *,
    llm: str | None = None,
    store: Store | None = None,
    assistant: str | None = None,
) -> Team:
    """The engine and the warmed speech models (greetings, announcements, fixed phrases) of a
    voice command. `assistant`, when given, must be one of the team (KeyError otherwise)."""
    if assistant:
        cfg.assistant(assistant)  # KeyError: unknown name, before any model loads
    engine = load_engine(cfg, llm=llm, store=store)
    speech = SpeechModels(engine.cfg)
    speech.warm()
    return Team(engine, speech)
