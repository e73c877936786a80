"""Handoff policy: hop limit, ping-pong guard, and the refusal of caller-named destinations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

INJECTION_PATTERNS = [
    r"\bignore (all |any |your |the |previous |prior )*(instructions|rules|prompt)",
    r"\b(system|developer) (prompt|message|mode)\b",
    r"\byou are now\b",
    r"\bpretend (to be|you are)\b",
    r"\b(override|bypass|disable) (the |your )?(rules|routing|restrictions|safety)",
    r"\b(transfer|connect|put) me (through )?to (extension|ext\.?|number|\+?\d)",
    r"\bdial\s+\+?\d",
    r"\bforward (this|the|my) call to\b",
    r"\bvergiss (alle|deine) (anweisungen|regeln)\b",
]
_INJECTION_RE = re.compile("|".join(INJECTION_PATTERNS), re.IGNORECASE)


EMERGENCY_PATTERNS = [
    r"\b(chest pains?|heart attack|stroke|seizure|overdos(e|ed)|unconscious|passed out|fainted|"
    r"collapsed|not breathing|can't breathe|cannot breathe|trouble breathing|choking|"
    r"bleeding (heavily|badly|a lot)|severe bleeding|suicid\w*|anaphyla\w*)\b",
    r"\b(bewusstlos|herzinfarkt|schlaganfall|atemnot|keine luft|krampfanfall)\b",
]
_EMERGENCY_RE = re.compile("|".join(EMERGENCY_PATTERNS), re.IGNORECASE)


def looks_like_medical_emergency(text: str) -> bool:
    """A caller describing a medical emergency: never routed to a booking or sales flow."""
    return bool(_EMERGENCY_RE.search(text))


def looks_like_injection(text: str) -> bool:
    """A caller trying to steer the system itself rather than ask for help."""
    return bool(_INJECTION_RE.search(text))


@dataclass
class HopRecord:
    turn: int
    from_assistant: str
    to_assistant: str


@dataclass
class HandoffPolicy:
    """Per-conversation guard state; `check` says why a handoff must not happen, or None."""

    max_handoffs: int
    pingpong_min_turns: int
    hops: list[HopRecord] = field(default_factory=list)

    def check(self, current: str, target: str, turn: int, allowed: set[str]) -> str | None:
        if target not in allowed:
            return f"'{target}' is not a configured target of {current}"
        if len(self.hops) >= self.max_handoffs:
            return f"hop limit reached ({self.max_handoffs} handoffs in this call)"
        if self.hops:
            last = self.hops[-1]
            if (
                last.to_assistant == current
                and last.from_assistant == target
                and turn - last.turn < self.pingpong_min_turns
            ):
                return (
                    f"ping-pong guard: just came from {target} "
                    f"({turn - last.turn} turn(s) ago, minimum {self.pingpong_min_turns})"
                )
        return None

    def record(self, turn: int, from_assistant: str, to_assistant: str) -> None:
        self.hops.append(HopRecord(turn, from_assistant, to_assistant))
