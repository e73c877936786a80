"""Handoff policy: hop limit, ping-pong guard, and the refusal of caller-named destinations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NOT_A_TOPIC = r"(?!\s+(for|on|about|to|regarding|when|if|how)\b)"
INJECTION_PATTERNS = [
    r"\b(ignore|disregard|forget|override|drop)\s+(all |any |of |your |the |my |these |those "
    r"|previous |prior |earlier |above |former |original |system )*"
    r"(instructions|rules|prompt|guidelines|directions|programming|directives)\b",
    r"\b(ignore|disregard|forget)\s+(everything|all|anything)\s*(you were|you've been|you have "
    r"been|that you were|above|before)",
    r"\b(ignore|disregard|forget)\s+what\s+(you were|you've been|you have been|they)\s+told\b",
    r"\b(reveal|show|print|output|recite|repeat|dump|leak|display|read out|spell out|give me|"
    r"tell me|share|list)\s+(me\s+)?(all\s+)?(of\s+)?(your|the)\s+(exact\s+|full\s+|original\s+|"
    r"initial\s+|hidden\s+|secret\s+|system\s+)*(instructions|prompt|rules|guidelines|"
    r"configuration|directives|programming)\b" + _NOT_A_TOPIC,
    r"\bwhat\s+(is|are|was|were|'s)\s+your\s+(exact\s+|full\s+|original\s+|initial\s+|hidden\s+|"
    r"secret\s+|system\s+)*(instructions|prompt|rules|guidelines|directives|programming)\b"
    + _NOT_A_TOPIC,
    r"\bwhat's\s+your\s+(system\s+)?(instructions|prompt)\b" + _NOT_A_TOPIC,
    r"\b(repeat|print|recite|say|read)\s+(back\s+)?(the|all the|everything|all)\s+(text|words|"
    r"lines|messages?|everything)?\s*(above|before this|so far|you were given|at the start)\b",
    r"\b(system|developer|admin) (prompt|message|mode|override)\b",
    r"\b(you are now|from now on,? you are|from now on,? act|you're now)\b",
    r"\bpretend (to be|you are|you're)\b",
    r"\bact as (if you|though you|an? (ai|unrestricted|different|new))\b",
    r"\b(jailbreak|dan mode|do anything now)\b",
    r"\b(override|bypass|disable) (the |your )?(rules|routing|restrictions|safety|guard)",
    r"\b(transfer|connect|put) me (through )?to (extension|ext\.?|number|\+?\d)",
    r"\bdial\s+\+?\d",
    r"\bforward (this|the|my) call to\b",
    r"\b(vergiss|ignoriere?) (alle |deine |die |vorherigen |bisherigen )*(anweisungen|regeln)\b",
    r"\b(zeig|nenne|verrate|wiederhole) (mir )?(deine|die) (anweisungen|regeln|systemanweisung|"
    r"prompt)\b",
    r"\bsystemprompt\b",
]
_INJECTION_RE = re.compile("|".join(INJECTION_PATTERNS), re.IGNORECASE)


EMERGENCY_PATTERNS = [
    r"\b(chest pains?|heart attack|stroke|seizure|overdos(e|ed|ing)|unconscious|unresponsive|"
    r"not responding|passed out|fainted|collapsed|not breathing|can't breathe|cannot breathe|"
    r"can not breathe|trouble breathing|struggling to breathe|choking|"
    r"bleeding (heavily|badly|a lot|everywhere)|severe bleeding|won't stop bleeding|"
    r"(a lot of|lots of|so much|too much) blood|blood everywhere|suicid\w*|anaphyla\w*)\b",
    r"\b(kill|hurt|harm|cut) (myself|himself|herself|themselves)\b",
    r"\b(end|take) (my|his|her|their) (own )?life\b",
    r"\b(i|he|she|they) (want|wants|am going|is going|are going) to die\b",
    r"\bdon't want to (live|be alive)( anymore)?\b",
    r"\b(took|taken|swallowed|ate|has taken|have taken) (too many|a lot of|a bottle of|all (my|his|"
    r"her|the)) (pills|tablets|sleeping pills|painkillers|medicine|meds|medication)\b",
    r"\btoo much (medicine|medication) at once\b",
    r"\b(bewusstlos|herzinfarkt|schlaganfall|atemnot|keine luft|krampfanfall|viel blut|"
    r"umbringen|suizid\w*|selbstmord\w*|zu viele tabletten)\b",
    r"\bnicht mehr leben\b",
]
_EMERGENCY_RE = re.compile("|".join(EMERGENCY_PATTERNS), re.IGNORECASE)

_NEGATION = re.compile(
    r"\b(no|nope|nah|not|never|don't|dont|do not|won't|rather not|nein|nicht|kein|keine|"
    r"lieber nicht)\b|n't\b",
    re.IGNORECASE,
)
_YES_IDIOMS = re.compile(
    r"\b(why not|no problem|not a problem|no worries|(i )?don't mind|(i )?do not mind|"
    r"(i )?wouldn't mind|warum nicht|kein problem)\b",
    re.IGNORECASE,
)
_YES = re.compile(
    r"\b(yes|yeah|yep|yup|sure|ok|okay|alright|all right|please|go ahead|of course|absolutely|"
    r"definitely|certainly|sounds good|that would be great|great|fine|perfect|do it|"
    r"ja|gerne|bitte|klar|genau)\b",
    re.IGNORECASE,
)


def looks_like_medical_emergency(text: str) -> bool:
    """A caller describing a medical emergency (or a danger to their life): never routed to a
    booking or sales flow; the fixed emergency phrase answers at once."""
    return bool(_EMERGENCY_RE.search(text))


def looks_like_injection(text: str) -> bool:
    """A caller trying to steer the system itself (or make it reveal its instructions) rather
    than ask for help."""
    return bool(_INJECTION_RE.search(text))


def agrees(text: str) -> bool:
    """The caller says yes to a question (a transfer confirmation). A negation anywhere in the
    answer is a no ("I'd rather not, please", "absolutely not"); yes-idioms that contain a
    negation ("why not", "no problem") count as yes."""
    cleaned = _YES_IDIOMS.sub(" yes ", text)
    if _NEGATION.search(cleaned):
        return False
    return bool(_YES.search(cleaned))


GUARD_REASONS = {
    "emergency": "medical emergency: the fixed emergency phrase, no reply model",
    "injection": "caller tried to steer the assistant; refused with the fixed phrase",
}


def guard_verdict(text: str) -> str | None:
    """emergency, injection or None: a flagged turn is answered with a fixed phrase and never
    reaches the reply model (an emergency wins: a caller in danger is told what to do)."""
    if looks_like_medical_emergency(text):
        return "emergency"
    if looks_like_injection(text):
        return "injection"
    return None


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
