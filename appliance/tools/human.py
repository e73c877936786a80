"""Transfer to a human: does the caller ask for a person, and which configured one.

Only `team.human_extensions` can ever be reached: a number or address the caller names is never
dialled (toll fraud and social engineering start with "just transfer me to ...").
"""

from __future__ import annotations

import re

from appliance.config import HumanExtension

_PERSON = re.compile(
    r"\b(real |actual |live )?(person|human|human being|operator|representative|somebody|"
    r"someone|staff|receptionist|manager|technician|agent)\b",
    re.I,
)
_ASK = re.compile(
    r"\b(talk|speak|connect|transfer|put me through|get me|give me|want|need|let me|"
    r"can i have|could i have|reach)\b",
    re.I,
)
_NOT = re.compile(r"\b(don't|do not|no need|not)\b[^.?!]{0,20}\b(talk|speak|need|want)\b", re.I)
_NUMBER = re.compile(r"(?:\+?\d[\d\s\-.]{2,}\d)")
_WORD = re.compile(r"[a-z]+")
_STOP = {"the", "a", "an", "at", "on", "for", "of", "to", "and", "or", "who", "in", "with"}


def wants_person(text: str) -> bool:
    """The caller asks to be put through to a person."""
    if _NOT.search(text):
        return False
    if re.search(r"\boperator\b", text, re.I):
        return True
    return bool(_PERSON.search(text) and _ASK.search(text))


def named_number(text: str) -> str | None:
    """A phone number or extension the caller says (3+ digits), if any."""
    m = _NUMBER.search(text)
    if m is None:
        return None
    digits = re.sub(r"\D", "", m.group(0))
    return digits if len(digits) >= 3 else None


def pick(text: str, humans: list[HumanExtension]) -> HumanExtension | None:
    """The configured person the caller asks for (by name or description words), else the
    first one; None when there is nobody to transfer to."""
    if not humans:
        return None
    words = set(_WORD.findall(text.lower())) - _STOP
    best, score = humans[0], 0
    for h in humans:
        own = {h.name.lower()} | (set(_WORD.findall(h.description.lower())) - _STOP)
        s = len(words & own)
        if s > score:
            best, score = h, s
    return best


def by_name(name: str, humans: list[HumanExtension]) -> HumanExtension | None:
    return next((h for h in humans if h.name == name), humans[0] if humans else None)
