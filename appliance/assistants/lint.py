"""The config checker's warnings: vague or overlapping conditions, unreachable assistants,
cycles with no exit, no route to a human, and of the office facts: duplicate topics, answers on
the same topic with different numbers, facts no caller can reach (on an unreachable assistant, or
not retrieved by their own topic), a call back promised without take_message, an assistant
whose recogniser does not know its language; errors: unknown tools, tools without code on this
box (appliance/tools: TOOLS and PLANNED), missing adapters."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance.assistants.facts import FactIndex
from appliance.brain.embeddings import Embedder
from appliance.brain.parts import TextEmbedder
from appliance.config import Config
from appliance.config.facts import Fact
from appliance.config.facts_file import normal_topic
from appliance.tools import PLANNED, TOOLS

KNOWN_TOOLS = set(TOOLS)  # tools with code on this box
EXIT_TOOLS = {"transfer_to_human"}  # a way out of a cycle of assistants
# The weak formulations of the handoff article, and words that make a condition unobservable.
WEAK_EXAMPLES = [
    "transfer if it makes sense",
    "transfer for difficult questions",
    "transfer for special requests",
]
VAGUE_PHRASES = re.compile(
    r"\b(makes? sense|difficult|special requests?|if needed|when needed|when appropriate|"
    r"if appropriate|complicated|complex (questions?|cases?)|anything else|other things|"
    r"whenever|as needed|if necessary|hard (questions?|cases?)|unusual|cannot answer|"
    r"can't answer|tricky|edge cases?)\b",
    re.IGNORECASE,
)
VAGUE_SIMILARITY = 0.45
OVERLAP_SIMILARITY = 0.75


@dataclass(frozen=True)
class Problem:
    """One finding, with where it is in the config."""

    level: str  # error | warning
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.location}: {self.message}"


def lint(cfg: Config, embedder: Embedder | None = None) -> list[Problem]:
    out: list[Problem] = []
    out += _tools_and_adapters(cfg)
    out += _vague(cfg, embedder)
    if embedder is not None:
        out += _overlaps(cfg, embedder)
    out += _unreachable(cfg)
    out += _cycles(cfg)
    out += _human_route(cfg)
    out += _fact_duplicates(cfg)
    out += _fact_contradictions(cfg)
    out += _facts_unreachable(cfg)
    if embedder is not None:
        out += _facts_not_retrieved(cfg, embedder)
    out += _callback_promises(cfg)
    out += _ears(cfg)
    return out


def _ears(cfg: Config) -> list[Problem]:
    """An assistant of another language heard by an English-only whisper hears its callers as
    (bad) English; a team of several languages without speech.language_check routes a caller
    of another language only when they ask in English."""
    out = []
    languages = {a.language for a in cfg.assistants}
    for ai, a in enumerate(cfg.assistants):
        model = cfg.speech.asr_for(a.language).model
        if a.language != "en" and model.endswith(".en"):
            out.append(
                Problem(
                    "warning",
                    f"assistants[{ai}] ({a.name}).language",
                    f"'{a.language}' callers are heard by {model}, which knows English only: "
                    f"set speech.asr.{a.language} to a multilingual model (whisper-base)",
                )
            )
    if len(languages) > 1 and cfg.speech.language_check is None:
        out.append(
            Problem(
                "warning",
                "speech.language_check",
                f"the team speaks {', '.join(sorted(languages))} but the box does not check "
                "which language a caller speaks: set speech.language_check: {}",
            )
        )
    return out


def _rule_loc(cfg: Config, ai: int, ri: int) -> str:
    a = cfg.assistants[ai]
    return f"assistants[{ai}] ({a.name}).handoffs[{ri}] -> {a.handoffs[ri].target}"


def _tools_and_adapters(cfg: Config) -> list[Problem]:
    out = []
    for ai, a in enumerate(cfg.assistants):
        for tool in a.tools:
            if tool in PLANNED:
                why = (
                    f"tool '{tool}' has no implementation on this box ({PLANNED[tool]} is not "
                    "built yet): remove it, and say in the prompt what the box really does "
                    "(take_message: the team calls back)"
                )
            elif tool not in KNOWN_TOOLS:
                why = f"unknown tool '{tool}' (known: {', '.join(sorted(KNOWN_TOOLS))})"
            else:
                continue
            out.append(Problem("error", f"assistants[{ai}] ({a.name}).tools", why))
        if a.lora and not Path(a.lora.path).exists():
            out.append(
                Problem(
                    "error",
                    f"assistants[{ai}] ({a.name}).lora.path",
                    f"adapter file not found: {a.lora.path}",
                )
            )
    return out


def _vague(cfg: Config, embedder: Embedder | None) -> list[Problem]:
    out = []
    weak = embedder.embed(WEAK_EXAMPLES) if embedder is not None else None
    for ai, a in enumerate(cfg.assistants):
        for ri, r in enumerate(a.handoffs):
            why = None
            if len(r.condition.split()) < 4:
                why = "too short to be observable"
            elif m := VAGUE_PHRASES.search(r.condition):
                why = f"'{m.group(0)}' is not something the caller observably says or does"
            elif weak is not None and embedder is not None:
                sim = float((weak @ embedder.embed_one(r.condition)).max())
                if sim >= VAGUE_SIMILARITY:
                    why = f"reads like a weak rule ({sim:.2f} similar to the article's examples)"
            if why:
                out.append(
                    Problem(
                        "warning",
                        _rule_loc(cfg, ai, ri),
                        f"vague condition '{r.condition}': {why}; name concrete "
                        "topics, intents or phrases",
                    )
                )
    return out


def _overlaps(cfg: Config, embedder: Embedder) -> list[Problem]:
    out = []
    for ai, a in enumerate(cfg.assistants):
        if len(a.handoffs) < 2:
            continue
        vecs = embedder.embed([r.condition for r in a.handoffs])
        for i, j in itertools.combinations(range(len(a.handoffs)), 2):
            sim = float(np.dot(vecs[i], vecs[j]))
            ri, rj = a.handoffs[i], a.handoffs[j]
            if sim >= OVERLAP_SIMILARITY and ri.target != rj.target:
                prio = "" if ri.priority != rj.priority else " with equal priority"
                out.append(
                    Problem(
                        "warning",
                        _rule_loc(cfg, ai, i),
                        f"overlaps handoffs[{j}] -> {rj.target} ({sim:.2f} similar)"
                        f"{prio}: the caller may land in either",
                    )
                )
    return out


def _unreachable_names(cfg: Config) -> set[str]:
    """The assistants no call can reach: not an entry (team, SIP accounts), no rule's target."""
    targets = {r.target for a in cfg.assistants for r in a.handoffs}
    entries = {cfg.team.entry} | {acc.entry for acc in cfg.sip.accounts if acc.entry}
    return {a.name for a in cfg.assistants} - targets - entries


def _unreachable(cfg: Config) -> list[Problem]:
    unreachable = _unreachable_names(cfg)
    return [
        Problem(
            "warning",
            f"assistants[{ai}] ({a.name})",
            "unreachable: not an entry assistant (team.entry, sip.accounts[].entry) and no "
            "rule hands off to it",
        )
        for ai, a in enumerate(cfg.assistants)
        if a.name in unreachable
    ]


def _cycles(cfg: Config) -> list[Problem]:
    graph = {a.name: {r.target for r in a.handoffs} for a in cfg.assistants}
    out = []
    for comp in strongly_connected(graph):
        if len(comp) < 2:
            continue
        if any(EXIT_TOOLS & set(cfg.assistant(n).tools) for n in comp):
            continue
        leaves = any(graph[n] - comp for n in comp)
        if not leaves:
            names = ", ".join(sorted(comp))
            out.append(
                Problem(
                    "warning",
                    f"assistants ({names})",
                    "cycle with no exit: these assistants only hand off among "
                    "themselves and none can end the call or reach a person",
                )
            )
    return out


def _human_route(cfg: Config) -> list[Problem]:
    has_tool = any("transfer_to_human" in a.tools for a in cfg.assistants)
    if not cfg.team.human_extensions:
        return [
            Problem(
                "warning",
                "team.human_extensions",
                "no human extension: callers can never reach a person",
            )
        ]
    if not has_tool:
        return [
            Problem(
                "warning",
                "assistants",
                "no assistant has the transfer_to_human tool: no route to a person",
            )
        ]
    return []


# -- the office facts (team.facts, assistants[].facts) -----------------------------------------

NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
CALLBACK_PROMISE = re.compile(
    r"\bcalls? you back\b|\bsomeone (?:will|'ll) call\b|\bruft Sie\b.*\bzurück\b|"
    r"\brufen Sie\b.*\bzurück\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Placed:
    """A fact and where it is: "team" or an assistant's name, and its config location."""

    fact: Fact
    scope: str
    location: str


def _placed(cfg: Config) -> list[_Placed]:
    out = [_Placed(f, "team", f"team.facts[{fi}]") for fi, f in enumerate(cfg.team.facts)]
    for ai, a in enumerate(cfg.assistants):
        out += [
            _Placed(f, a.name, f"assistants[{ai}] ({a.name}).facts[{fi}]")
            for fi, f in enumerate(a.facts)
        ]
    return out


def _fact_duplicates(cfg: Config) -> list[Problem]:
    """The same topic twice where one assistant sees both: in team.facts, in one assistant's
    facts, or an assistant's fact on a team fact's topic."""
    out = []
    placed = _placed(cfg)
    for i, p in enumerate(placed):
        topic = normal_topic(p.fact.topic)
        for q in placed[:i]:
            if normal_topic(q.fact.topic) != topic or q.scope not in (p.scope, "team"):
                continue
            what = "the team fact" if q.scope == "team" and p.scope != "team" else "the fact"
            out.append(
                Problem(
                    "warning",
                    p.location,
                    f"duplicate topic '{p.fact.topic}': {what} {q.location} has it too; keep "
                    "one (the caller may be told either)",
                )
            )
            break
    return out


def _numbers(text: str) -> list[str]:
    return sorted(set(NUMBER.findall(text)))


def _fact_contradictions(cfg: Config) -> list[Problem]:
    """Facts on the same topic from different places (team and an assistant, two assistants)
    whose answers state different numbers: one of them is out of date."""
    out = []
    placed = _placed(cfg)
    for i, p in enumerate(placed):
        here = _numbers(p.fact.answer)
        for q in placed[:i]:
            if q.scope == p.scope or normal_topic(q.fact.topic) != normal_topic(p.fact.topic):
                continue
            there = _numbers(q.fact.answer)
            if here and there and here != there:
                out.append(
                    Problem(
                        "warning",
                        p.location,
                        f"contradicts {q.location} on '{p.fact.topic}': numbers "
                        f"{', '.join(here)} here, {', '.join(there)} there; make them agree",
                    )
                )
    return out


def _facts_unreachable(cfg: Config) -> list[Problem]:
    unreachable = _unreachable_names(cfg)
    return [
        Problem(
            "warning",
            f"assistants[{ai}] ({a.name}).facts",
            f"{len(a.facts)} fact(s) no caller hears: the assistant is unreachable (add a "
            "handoff rule to it, or move the facts to one that is reached)",
        )
        for ai, a in enumerate(cfg.assistants)
        if a.facts and a.name in unreachable
    ]


def _facts_not_retrieved(cfg: Config, embedder: TextEmbedder) -> list[Problem]:
    """A fact its own topic does not find (too vague a topic, or crowded out by similar ones):
    callers asking about it will not get it either. Team facts are tried with the entry
    assistant's facts, an assistant's facts with its own."""
    out = []
    for ai, a in enumerate(cfg.assistants):
        mine = [(f"assistants[{ai}] ({a.name}).facts[{fi}]", f) for fi, f in enumerate(a.facts)]
        if a.name == cfg.team.entry:
            mine = [(f"team.facts[{fi}]", f) for fi, f in enumerate(cfg.team.facts)] + mine
        if not mine:
            continue
        index = FactIndex(cfg, a, embedder)
        for location, fact in mine:
            if not any(found.fact is fact for found in index.retrieve(fact.topic)):
                out.append(
                    Problem(
                        "warning",
                        location,
                        f"the topic '{fact.topic}' does not retrieve this fact for {a.name}: "
                        "name it in the caller's words, or add example questions",
                    )
                )
    return out


def _callback_promises(cfg: Config) -> list[Problem]:
    """An answer that promises a call back, told by an assistant that cannot take a message."""
    out = []
    without = [a.name for a in cfg.assistants if "take_message" not in a.tools]
    for p in _placed(cfg):
        m = CALLBACK_PROMISE.search(p.fact.answer)
        if m is None:
            continue
        who = without if p.scope == "team" else [n for n in without if n == p.scope]
        if who:
            out.append(
                Problem(
                    "warning",
                    p.location,
                    f"the answer promises a call back ('{m.group(0)}') but "
                    f"{', '.join(who)} cannot take a message: add the take_message tool or "
                    "drop the promise",
                )
            )
    return out


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm (iterative enough for small teams)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    comps: list[set[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            comps.append(comp)

    for v in graph:
        if v not in index:
            visit(v)
    return comps
