"""The handoff decision after each caller utterance: stay, or hand off to a configured target.

Fast path: embedding similarity of the utterance to each rule's condition and examples (and to the
assistant's own stay examples). When it is not confident, a grammar-constrained LLM choice among
the allowed targets and "stay" decides. Whatever the caller says, the result is a configured
target or stay: the grammar and the target set allow nothing else.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from appliance.assistants.policy import GUARD_REASONS, guard_verdict
from appliance.assistants.prompts import router_input, router_prompt
from appliance.brain.parts import TextEmbedder, UtilityBrain
from appliance.config import Assistant, Config, HandoffRule

_LOGGER = logging.getLogger(__name__)

STAY = "stay"
CANDIDATE_FLOOR = 0.30  # a rule scoring this high is a plausible match (for priority conflicts)
TIE_MARGIN = 0.15  # two rules the LLM check gives probabilities this close apply about equally
TIE_FLOOR = 0.25  # ... when the second has at least this much


def sentences(text: str) -> list[str]:
    """The sentences of an utterance when it has more than one (else nothing)."""
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", text) if len(p.split()) >= 3]
    return parts if len(parts) > 1 else []


@dataclass
class Decision:
    """The router's verdict on one utterance."""

    target: str | None  # None = stay
    path: str  # fast | llm | guard | confirm | facts (kept: own fact) | clarify | language
    reason: str
    scores: dict[str, float] = field(default_factory=dict)
    latency_ms: float = 0.0
    rule: HandoffRule | None = None
    verdict: str | None = None  # the guard's: injection | emergency (a fixed phrase answers)
    ties: list[HandoffRule] = field(default_factory=list)  # path clarify: the caller is asked


@dataclass
class _RuleIndex:
    rule: HandoffRule
    vectors: npt.NDArray[np.float32]


class Router:
    """Scores utterances against the current assistant's rules; one instance per config."""

    def __init__(self, cfg: Config, embedder: TextEmbedder, brain: UtilityBrain | None) -> None:
        self.cfg = cfg
        self.embedder = embedder
        self.brain = brain
        self.routing = cfg.routing
        self._rules: dict[str, list[_RuleIndex]] = {}
        self._stay: dict[str, npt.NDArray[np.float32]] = {}
        for a in cfg.assistants:
            ordered = sorted(a.handoffs, key=lambda r: -r.priority)
            self._rules[a.name] = [
                _RuleIndex(r, embedder.embed([r.condition, *r.examples])) for r in ordered
            ]
            self._stay[a.name] = embedder.embed(a.stay_examples)

    def router_key(self, assistant: str) -> str:
        """Keyed by the prompt's content: after a config reload the new prompt gets its own KV
        state, while calls still on the old config keep theirs."""
        a = self.cfg.assistant(assistant)
        digest = hashlib.sha1(self.prompt_for(a).encode()).hexdigest()[:10]
        return f"router:{assistant}:{digest}"

    def prefix_keys(self) -> set[str]:
        """The utility prefixes this router uses (one classifier prompt per assistant)."""
        if self.brain is None or not self.routing.llm_check:
            return set()
        return {self.router_key(a.name) for a in self.cfg.assistants if a.handoffs}

    def warm(self) -> None:
        """Cache every assistant's classifier prompt as a KV state."""
        if self.brain is None or not self.routing.llm_check:
            return
        for a in self.cfg.assistants:
            if a.handoffs:
                self.brain.warm_utility(self.router_key(a.name), self.prompt_for(a))

    def prompt_for(self, a: Assistant) -> str:
        rules = [ri.rule for ri in self._rules[a.name]]
        return router_prompt(a, rules)

    def scores(self, assistant: str, utterance: str) -> dict[str, float]:
        """Cosine similarity per target (best over the utterance and each of its sentences, so a
        greeting in front of a request does not hide it) and for staying (whole utterance)."""
        pieces = [utterance, *sentences(utterance)]
        vecs = self.embedder.embed(pieces)
        out = {
            ri.rule.target: round(float((vecs @ ri.vectors.T).max()), 3)
            for ri in self._rules[assistant]
        }
        stay = self._stay[assistant]
        out[STAY] = round(float((stay @ vecs[0]).max()), 3) if len(stay) else 0.0
        return out

    def decide(self, assistant: str, utterance: str, earlier: list[str]) -> Decision:
        t0 = time.perf_counter()
        d = self._decide(assistant, utterance, earlier)
        d.latency_ms = round((time.perf_counter() - t0) * 1000, 1)
        return d

    def _decide(self, assistant: str, utterance: str, earlier: list[str]) -> Decision:
        rules = self._rules[assistant]
        verdict = guard_verdict(utterance)
        scores = self.scores(assistant, utterance) if rules else {}
        if verdict is not None:  # before anything else: also where there are no rules
            return Decision(None, "guard", GUARD_REASONS[verdict], scores, verdict=verdict)
        if not rules:
            return Decision(None, "fast", "no handoff rules")
        by_target = {ri.rule.target: ri.rule for ri in rules}
        ranked = sorted(by_target, key=lambda t: -scores[t])
        best = ranked[0]
        s1 = scores[best]
        s2 = scores[ranked[1]] if len(ranked) > 1 else 0.0
        stay = scores[STAY]
        r = self.routing
        higher = [
            t
            for t in ranked[1:]
            if by_target[t].priority > by_target[best].priority and scores[t] >= CANDIDATE_FLOOR
        ]
        if s1 >= r.fast_accept and s1 - max(s2, stay) >= r.fast_margin and not higher:
            return Decision(
                best, "fast", f"matches '{by_target[best].condition}'", scores, rule=by_target[best]
            )
        if s1 < r.fast_reject or (stay >= r.fast_accept and stay - s1 >= r.fast_margin):
            return Decision(None, "fast", "no transfer condition applies", scores)
        if self.brain is None or not r.llm_check:
            if s1 >= r.fast_accept:
                chosen = max([best, *higher], key=lambda t: by_target[t].priority)
                return Decision(
                    chosen, "fast", "best match (LLM check off)", scores, rule=by_target[chosen]
                )
            return Decision(None, "fast", "not confident (LLM check off)", scores)
        options = [STAY] + [ri.rule.target for ri in rules]
        choice, probs = self.brain.choose(
            self.router_key(assistant), router_input(utterance, earlier[-2:]), options
        )
        scores.update({f"llm:{o}": p for o, p in probs.items()})
        if choice not in by_target:
            return Decision(None, "llm", "LLM: no transfer condition applies", scores)
        close = close_runner_up(choice, probs, by_target)
        if close is not None:
            first, second = by_target[choice], by_target[close]
            if first.priority != second.priority:  # the rules' priorities decide, not chance
                won, lost = sorted((first, second), key=lambda x: -x.priority)
                why = f"LLM: '{won.condition}' (priority over '{lost.condition}')"
                return Decision(won.target, "llm", why, scores, rule=won)
            if r.clarify_ties:
                why = f"two conditions apply: '{first.condition}' and '{second.condition}'"
                return Decision(None, "clarify", why, scores, ties=[first, second])
        return Decision(
            choice, "llm", f"LLM: '{by_target[choice].condition}'", scores, rule=by_target[choice]
        )


def close_runner_up(
    choice: str, probs: dict[str, float], by_target: dict[str, HandoffRule]
) -> str | None:
    """The rule the LLM check rated nearly as likely as its choice (TIE_MARGIN), if any."""
    others = sorted((t for t in by_target if t != choice), key=lambda t: -probs.get(t, 0.0))
    if not others:
        return None
    p1, p2 = probs.get(choice, 0.0), probs.get(others[0], 0.0)
    return others[0] if p2 >= TIE_FLOOR and p1 - p2 <= TIE_MARGIN else None
