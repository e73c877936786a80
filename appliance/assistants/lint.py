"""The config checker's warnings: vague or overlapping conditions, unreachable assistants,
cycles with no exit, no route to a human; errors: unknown tools, tools without code on this box
(appliance/tools: TOOLS and PLANNED), missing adapters."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance.brain.embeddings import Embedder
from appliance.config import Config
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


def _unreachable(cfg: Config) -> list[Problem]:
    targets = {r.target for a in cfg.assistants for r in a.handoffs}
    entries = {cfg.team.entry} | {acc.entry for acc in cfg.sip.accounts if acc.entry}
    return [
        Problem(
            "warning",
            f"assistants[{ai}] ({a.name})",
            "unreachable: not an entry assistant (team.entry, sip.accounts[].entry) and no "
            "rule hands off to it",
        )
        for ai, a in enumerate(cfg.assistants)
        if a.name not in entries and a.name not in targets
    ]


def _cycles(cfg: Config) -> list[Problem]:
    graph = {a.name: {r.target for r in a.handoffs} for a in cfg.assistants}
    out = []
    for comp in _strongly_connected(graph):
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


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
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
