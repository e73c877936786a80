"""The engine: loads the models once, warms every profile, and opens conversations."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.assistants import prompts
from appliance.assistants.carryover import transcript_text
from appliance.assistants.fact_judge import JUDGE_KEY, FactJudge
from appliance.assistants.facts import FactIndex
from appliance.assistants.router import Router
from appliance.assistants.slots import SlotExtractor
from appliance.brain.parts import AdapterSet, Message, ReplyBrain, TextEmbedder
from appliance.config import Assistant, Config
from appliance.config.calendar import office_zone
from appliance.conversation import Conversation, Line, Listener
from appliance.models import model_path
from appliance.tools.booking import Calendar
from appliance.tools.calendar_client import CalDavCalendar
from appliance.tools.carddav import CardDavDirectory
from appliance.tools.contacts import Directory
from appliance.tools.tickets import Desk

if TYPE_CHECKING:
    from appliance.brain.session import LlamaSession

_LOGGER = logging.getLogger(__name__)
SUMMARY_KEY = "summary"


PROFILE = "profile:"


def adapters_of(a: Assistant) -> AdapterSet:
    return ((a.lora.path, a.lora.scale),) if a.lora and a.lora.scale > 0 else ()


def profile_key(a: Assistant) -> str:
    """The prefix-cache key of a reply profile: its name and a short hash of its system prompt
    and adapters, so a changed profile (a config reload) never overwrites the KV state that a
    call in progress still uses."""
    digest = hashlib.sha256(repr((prompts.system_prompt(a), adapters_of(a))).encode("utf-8"))
    return f"{PROFILE}{a.name}:{digest.hexdigest()[:10]}"


class Engine:
    """Everything a conversation needs, built once from a config."""

    def __init__(
        self,
        cfg: Config,
        *,
        llm: str | None = None,
        models_dir: Path | None = None,
        listeners: list[Listener] | None = None,
    ) -> None:
        # the real parts load onnxruntime and llama.cpp: imported here, so that an engine built
        # from other parts (from_parts) never loads them
        from appliance.brain.brain import Brain
        from appliance.brain.embeddings import Embedder
        from appliance.brain.llm import SharedModel

        t0 = time.perf_counter()
        llm_name = llm or cfg.models.llm
        embedder = Embedder(model_path(cfg.models.embeddings, models_dir=models_dir))
        gguf = model_path(llm_name, models_dir=models_dir) / "model.gguf"
        model = SharedModel(gguf, threads=cfg.models.threads, repack=cfg.models.repack)
        self._build(cfg, llm_name, embedder, Brain(model, n_ctx=cfg.models.n_ctx), listeners)
        self.startup_ms = (time.perf_counter() - t0) * 1000
        _LOGGER.info(
            "engine ready in %.0f ms (%s, %d cached prefixes, %.1f MB)",
            self.startup_ms,
            llm_name,
            len(self.brain.prefixes.keys()),
            self.brain.prefixes.total_bytes / 1e6,
        )

    @classmethod
    def from_parts(
        cls,
        cfg: Config,
        *,
        llm_name: str,
        embedder: TextEmbedder,
        brain: ReplyBrain,
        listeners: list[Listener] | None = None,
    ) -> Engine:
        """An engine on parts already made (loaded models, or stand-ins that load nothing): the
        router and slot extractor are built for `cfg` and the profile prefixes warmed."""
        t0 = time.perf_counter()
        new = cls.__new__(cls)
        new._build(cfg, llm_name, embedder, brain, listeners)
        new.startup_ms = (time.perf_counter() - t0) * 1000
        return new

    def _build(
        self,
        cfg: Config,
        llm_name: str,
        embedder: TextEmbedder,
        brain: ReplyBrain,
        listeners: list[Listener] | None,
    ) -> None:
        self.cfg = cfg
        self.listeners: list[Listener] = list(listeners or [])
        self.desk: Desk | None = None  # where tickets are kept (the store), when there is one
        book = cfg.integrations.contacts
        self.contacts: Directory | CardDavDirectory | None = None  # the address book
        if book is not None:
            self.contacts = (
                CardDavDirectory(book.carddav) if book.carddav else Directory(Path(book.file))
            )
        cal = cfg.integrations.calendar
        self.calendar: Calendar | None = (
            CalDavCalendar(cal, office_zone(cfg.team.timezone)) if cal is not None else None
        )  # the office calendar (tests may put a stand-in here)
        self.llm_name = llm_name
        self.embedder = embedder
        self.model = brain.model
        self.brain = brain
        self.router = Router(cfg, embedder, brain)
        self.slots = SlotExtractor(brain, cfg.team.slots, cfg.assistants)
        # the office facts each assistant may use, embedded once
        self.facts = {a.name: FactIndex(cfg, a, embedder) for a in cfg.assistants}
        self.judge = FactJudge(brain)
        self._warm()

    def reconfigured(self, cfg: Config) -> Engine:
        """An engine for a changed config on this one's model, embedder and brain (no model is
        loaded again; only new or changed profile prefixes are computed). This engine keeps
        working for the conversations it opened. Model settings (`models.*`) stay this engine's."""
        t0 = time.perf_counter()
        new = Engine.from_parts(
            cfg,
            llm_name=self.llm_name,
            embedder=self.embedder,
            brain=self.brain,
            listeners=self.listeners,
        )
        new.startup_ms = self.startup_ms
        new.desk = self.desk
        old_i, new_i = self.cfg.integrations, cfg.integrations
        if new_i.calendar == old_i.calendar and cfg.team.timezone == self.cfg.team.timezone:
            new.calendar = self.calendar  # keeps its login; a reload does not log in again
        if new_i.contacts == old_i.contacts:
            new.contacts = self.contacts  # keeps what it fetched or read
        _LOGGER.info(
            "engine reconfigured in %.0f ms (%d cached prefixes, %.1f MB)",
            (time.perf_counter() - t0) * 1000,
            len(self.brain.prefixes.keys()),
            self.brain.prefixes.total_bytes / 1e6,
        )
        return new

    def profile_keys(self) -> set[tuple[str, AdapterSet]]:
        """The prefix-cache entries of this engine's reply profiles."""
        return {(profile_key(a), adapters_of(a)) for a in self.cfg.assistants}

    def prefix_keys(self) -> set[tuple[str, AdapterSet]]:
        """Every prefix-cache entry this engine uses: reply profiles, router and slot prompts,
        the summary prompt."""
        utility = {SUMMARY_KEY, JUDGE_KEY, *self.router.prefix_keys(), *self.slots.prefix_keys()}
        return self.profile_keys() | {(key, ()) for key in utility}

    def _warm(self) -> None:
        for a in self.cfg.assistants:
            key, adapters = profile_key(a), adapters_of(a)
            if self.brain.prefixes.get(key, adapters) is None:  # the key names its content
                self.brain.warm_profile(key, prompts.system_prompt(a), adapters)
        self.router.warm()
        self.slots.warm()
        self.brain.warm_utility(SUMMARY_KEY, prompts.summary_prompt())
        self.judge.warm()

    def new_conversation(
        self,
        *,
        channel: str = "text",
        assistant: str | None = None,
        listeners: list[Listener] | None = None,
        caller: str = "",
    ) -> Conversation:
        name = assistant or self.cfg.team.entry
        self.cfg.assistant(name)  # KeyError for an unknown assistant
        return Conversation(
            self,
            channel=channel,
            assistant=name,
            listeners=self.listeners + list(listeners or []),
            caller=caller,
        )

    def activate(self, session: LlamaSession, a: Assistant) -> float:
        """Switch a conversation's context to another profile: KV state + adapters (ms)."""
        return self.brain.prefixes.activate(session, profile_key(a), adapters_of(a))

    def stream_reply(
        self,
        session: LlamaSession,
        a: Assistant,
        messages: list[Message],
        cancel: threading.Event | None,
    ) -> Iterator[str]:
        return self.brain.stream_reply(
            session,
            profile_key(a),
            adapters_of(a),
            messages,
            max_tokens=self.cfg.models.max_reply_tokens,
            cancel=cancel,
        )

    def summarize(self, lines: list[Line]) -> str | None:
        if not lines:
            return None
        done = self.brain.utility(
            SUMMARY_KEY, transcript_text(lines)[-2000:], grammar=None, max_tokens=48
        )
        return done.text.strip() or None

    def close(self) -> None:
        self.brain.close()
