"""Two transfer conditions that apply about equally (the router's `clarify` path): the caller is
asked which they mean, and their answer picks one. The handoff article's "no prioritisation"
mistake: without this, the box picks one silently."""

from __future__ import annotations

import re

from appliance.config import Config, HandoffRule

QUESTION = {
    "en": "Just so I connect you with the right colleague: is it for {a}, or for {b}?",
    "de": "Damit ich Sie richtig verbinde: geht es um {a} oder um {b}?",
}
_FIRST = re.compile(r"\b(first|former|the one before|erste\w*)\b", re.IGNORECASE)
_SECOND = re.compile(r"\b(second|latter|last one|zweite\w*|letzte\w*)\b", re.IGNORECASE)
_SHORT = 4  # words this short say nothing about a topic ("the", "for", "help")


def question(cfg: Config, ties: list[HandoffRule], language: str) -> str:
    """The clarifying question, naming the two assistants by their titles."""
    a, b = (cfg.assistant(r.target).title for r in ties[:2])
    return QUESTION.get(language, QUESTION["en"]).format(a=a, b=b)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-zäöüß]+", text.lower()) if len(w) > _SHORT}


def pick(cfg: Config, ties: list[HandoffRule], answer: str) -> HandoffRule | None:
    """The rule the caller's answer names: by order ("the first"), else by the words of the
    target's title and name, of the condition and its examples; None when it does not tell
    (the answer is routed as usual)."""
    first, second = bool(_FIRST.search(answer)), bool(_SECOND.search(answer))
    if first != second:
        return ties[0] if first else ties[1]
    said = _words(answer)
    hits = []
    for r in ties:
        a = cfg.assistant(r.target)
        named = _words(f"{a.title} {a.name}") & said
        topic = _words(" ".join([r.condition, *r.examples])) & said
        hits.append((len(named), len(topic)))
    if hits[0] == hits[1]:
        return None
    return ties[0] if hits[0] > hits[1] else ties[1]
