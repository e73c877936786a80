"""Slot extraction: grammar-constrained JSON from the caller's words, checked against them."""

from __future__ import annotations

import json
import logging
import re

from appliance.assistants.prompts import slots_input, slots_prompt
from appliance.brain.brain import Brain
from appliance.brain.grammar import slots_grammar
from appliance.config import Slot

_LOGGER = logging.getLogger(__name__)

SLOTS_KEY = "slots"
GERMAN_WORDS = {
    "ich",
    "und",
    "nicht",
    "bitte",
    "ist",
    "sie",
    "mein",
    "meine",
    "mit",
    "ein",
    "eine",
    "der",
    "die",
    "das",
    "guten",
    "tag",
    "möchte",
    "hätte",
    "können",
    "danke",
    "auf",
    "deutsch",
    "wie",
    "was",
    "wir",
    "haben",
    "funktioniert",
    "termin",
    "brauche",
    "sprechen",
}
# Values that must be words the caller actually said (the model copies, it must not invent).
VERBATIM = {"name", "company", "callback"}
PROPER = {"name", "company"}  # proper nouns: spelled with capitals where the caller said them
URGENCY = {"low", "normal", "high"}


def detect_language(text: str) -> str | None:
    """German or English for the `language` slot, from function words (cheap, deterministic)."""
    words = re.findall(r"[a-zäöüß]+", text.lower())
    if len(words) < 2:
        return None
    german = sum(w in GERMAN_WORDS for w in words)
    if german >= 2 and german / len(words) >= 0.2:
        return "German"
    return None


def _said(value: str, utterance: str, *, proper: bool = False) -> bool:
    """Whether the caller said `value` (digits for numbers; words, capitalised for names)."""
    if re.fullmatch(r"[\d\s()+-]+", value):
        digits = re.sub(r"\D", "", value)
        return len(digits) >= 3 and digits in re.sub(r"\D", "", utterance)
    said = set(re.findall(r"\w+", utterance if proper else utterance.lower()))
    words = re.findall(r"\w+", value if proper else value.lower())
    if proper and not all(w[:1].isupper() for w in words):
        return False
    return bool(words) and all(w in said for w in words)


def clean_slots(raw: dict[str, str], utterance: str, known: set[str]) -> dict[str, str]:
    """Keep only well-formed values; verbatim slots must appear in the utterance."""
    out: dict[str, str] = {}
    for key, value in raw.items():
        value = value.strip().strip(".")
        if key not in known or not value or value.lower() in {"unknown", "none", "n/a", "null"}:
            continue
        if key in VERBATIM and not _said(value, utterance, proper=key in PROPER):
            continue
        if key == "callback":
            value = re.sub(r"[^\d+]", "", value)
        if key == "urgency":
            value = value.lower()
            if value not in URGENCY:
                continue
        out[key] = value
    return out


class SlotExtractor:
    """Extracts slots from each caller utterance with the shared model's utility session."""

    def __init__(self, brain: Brain | None, slots: list[Slot]) -> None:
        self.brain = brain
        self.slots = slots
        self._keys = [s.name for s in slots]
        # language comes from detection, not from the model (it would always answer English)
        self._llm_slots = [s for s in slots if s.name != "language"]
        self._grammar = slots_grammar([s.name for s in self._llm_slots])

    def warm(self) -> None:
        if self.brain is not None and self._llm_slots:
            self.brain.warm_utility(SLOTS_KEY, slots_prompt(self._llm_slots))

    def extract(self, utterance: str) -> dict[str, str]:
        found: dict[str, str] = {}
        lang = detect_language(utterance)
        if lang and "language" in self._keys:
            found["language"] = lang
        if self.brain is None or not self._llm_slots or len(utterance.split()) < 2:
            return found
        done = self.brain.utility(
            SLOTS_KEY, slots_input(utterance), grammar=self._grammar, max_tokens=60
        )
        try:
            raw = json.loads(done.text)
        except json.JSONDecodeError:
            _LOGGER.warning("slot extraction returned invalid JSON: %r", done.text)
            return found
        if isinstance(raw, dict):
            raw_str = {str(k): str(v) for k, v in raw.items()}
            found.update(clean_slots(raw_str, utterance, set(self._keys)))
        return found
