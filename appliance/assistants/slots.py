"""Slot extraction: grammar-constrained JSON from the caller's words, checked against them."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass

from appliance.assistants.prompts import slots_input, slots_prompt
from appliance.brain.grammar import slots_grammar
from appliance.brain.parts import UtilityBrain
from appliance.config import Assistant, Slot

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
# Values the model likes to fill in by default ("budget: low", "urgency: normal" for a caller
# who only reported a bug): kept only when the caller's words speak of them.
EVIDENCE = {
    "budget": re.compile(
        r"[$€£]|\d|\b(budget|dollars?|euros?|pounds?|bucks|cheap\w*|afford\w*|expensive|"
        r"spend|cost\w*|price\w*|thousand|hundred|grand|money|money's|tight|low[- ]cost)\b",
        re.IGNORECASE,
    ),
    "urgency": re.compile(
        r"\b(urgent\w*|asap|as soon as|right away|immediately|emergency|today|tonight|right now|"
        r"quick\w*|hurry|critical|is down|are down|went down|can'?t work|cannot work|stopped|"
        r"no rush|not urgent|whenever|no hurry|next (week|month)|this week|soon|tomorrow|"
        r"dringend|sofort|eilig)\b",
        re.IGNORECASE,
    ),
}


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
        if key in EVIDENCE and not EVIDENCE[key].search(utterance):
            continue  # a default the model filled in, not something the caller said
        if key == "callback":
            value = re.sub(r"[^\d+]", "", value)
        if key == "urgency":
            value = value.lower()
            if value not in URGENCY:
                continue
        out[key] = value
    return out


@dataclass
class _Schema:
    key: str
    names: set[str]
    llm_slots: list[Slot]
    grammar: str


class SlotExtractor:
    """Extracts slots from each caller utterance with the shared model's utility session.

    Every assistant collects the team's slots plus its own; each distinct schema has its own
    cached extraction prompt.
    """

    def __init__(
        self, brain: UtilityBrain | None, team_slots: list[Slot], assistants: list[Assistant]
    ) -> None:
        self.brain = brain
        self._schemas: dict[str, _Schema] = {}
        self._default = self._schema(SLOTS_KEY, team_slots)
        for a in assistants:
            if a.slots:
                self._schemas[a.name] = self._schema(
                    f"{SLOTS_KEY}:{a.name}", [*team_slots, *a.slots]
                )

    @staticmethod
    def _schema(key: str, slots: list[Slot]) -> _Schema:
        # language comes from detection, not from the model (it would always answer English)
        llm_slots = [s for s in slots if s.name != "language"]
        # keyed by the prompt's content, so a reloaded schema never replaces a running call's
        digest = hashlib.sha1(slots_prompt(llm_slots).encode()).hexdigest()[:10]
        return _Schema(
            f"{key}:{digest}",
            {s.name for s in slots},
            llm_slots,
            slots_grammar([s.name for s in llm_slots]),
        )

    def schema_for(self, assistant: str) -> _Schema:
        return self._schemas.get(assistant, self._default)

    def prefix_keys(self) -> set[str]:
        """The utility prefixes of the extraction prompts (one per distinct schema)."""
        if self.brain is None:
            return set()
        return {s.key for s in [self._default, *self._schemas.values()] if s.llm_slots}

    def warm(self) -> None:
        if self.brain is None:
            return
        for schema in [self._default, *self._schemas.values()]:
            if schema.llm_slots:
                self.brain.warm_utility(schema.key, slots_prompt(schema.llm_slots))

    def extract(self, utterance: str, assistant: str = "") -> dict[str, str]:
        schema = self.schema_for(assistant)
        found: dict[str, str] = {}
        lang = detect_language(utterance)
        if lang and "language" in schema.names:
            found["language"] = lang
        if self.brain is None or not schema.llm_slots or len(utterance.split()) < 2:
            return found
        done = self.brain.utility(
            schema.key, slots_input(utterance), grammar=schema.grammar, max_tokens=60
        )
        try:
            raw = json.loads(done.text)
        except json.JSONDecodeError:
            _LOGGER.warning(  # not the text: it holds the caller's details
                "slot extraction returned invalid JSON (%d chars)", len(done.text)
            )
            return found
        if isinstance(raw, dict):
            raw_str = {str(k): str(v) for k, v in raw.items()}
            found.update(clean_slots(raw_str, utterance, schema.names))
        return found
