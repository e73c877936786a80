"""Misheard office words put back together: speech recognition splits a name it does not know
into common words that sound like it ("bay sick" for "Basic", "ser kit" for "circuit", "shelby
vil" for "Shelbyville"). Neither the fact retrieval nor the fact judge finds the fact then (the
judge's p(yes) for the Basic package: 0.94 for "how much is the basic package a month", 0.04 for
"... the bay sick package ...").

Two or three neighbouring words of the caller are joined and compared with the office's own
distinctive words (the facts' topics and the capitalised words of their answers, five letters
or more): the same letters, or the same sound key (`sound_key`: consonants after the first
letter, with the spellings that sound alike merged). The repaired words are used to find and
judge facts; what the caller said stays in the transcript as it was heard.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from appliance.assistants.grounding import words_of

_LOGGER = logging.getLogger(__name__)
_WORD = re.compile(r"[A-Za-zÄÖÜäöüß]+")
_TOKEN = re.compile(r"\S+")
MIN_LETTERS = 5  # an office word shorter than this is too easy to hit by chance
MIN_KEY = 3  # a sound key shorter than this says too little
# a run never starts or ends with one of these: "my medication" is not "medication" misheard
_SMALL = words_of(
    "a an the and or of to in on at for with is are was be do does did you your we our i me my "
    "it its this that what who how can will there have has had so if not no by as up out "
    "ein eine der die das und oder zu im am ist sind ich sie wir es"
)
_SOUNDS = (  # spellings that sound alike, in order
    ("tch", "ch"),
    ("ph", "f"),
    ("ck", "k"),
    ("th", "t"),
    ("wh", "w"),
    ("gh", ""),
    ("dg", "j"),
    ("ce", "se"),
    ("ci", "si"),
    ("cy", "sy"),
    ("c", "k"),
    ("q", "k"),
    ("x", "ks"),
    ("z", "s"),
    ("ß", "s"),
    ("v", "f"),
)


def sound_key(word: str) -> str:
    """A rough sound of an English word: its first letter, then its consonants with alike
    spellings merged and doubled letters collapsed ("basic" and "baysick": "bsk")."""
    w = "".join(ch for ch in word.lower() if ch.isalpha())
    if not w:
        return ""
    for a, b in _SOUNDS:
        w = w.replace(a, b)
    head, rest = w[0], w[1:]
    rest = "".join(ch for ch in rest if ch not in "aeiouyhwäöü")
    out = head
    for ch in rest:
        if ch != out[-1]:
            out += ch
    return out


class OfficeWords:
    """The distinctive words of one assistant's facts, and the repair of misheard ones."""

    def __init__(self, texts: Iterable[str], topics: Iterable[str]) -> None:
        words: set[str] = set()
        for topic in topics:
            for w in _WORD.findall(topic):
                words.update([w, w[:-1]] if w.endswith("s") else [w])  # "refunds": "refund"
        for text in texts:  # names: capitalised, not at the start of a sentence
            for m in _WORD.finditer(text):
                w = m.group()
                before = text[: m.start()].rstrip()
                if w[0].isupper() and before and before[-1] not in ".:;!?":
                    words.add(w)
        self.words = {w.lower(): w for w in words if len(w) >= MIN_LETTERS}
        self.keys: dict[str, str] = {}
        for low, w in self.words.items():
            key = sound_key(low)
            if len(key) >= MIN_KEY:
                self.keys.setdefault(key, w)

    def _match(self, joined: str) -> str | None:
        low = joined.lower()
        if len(low) < MIN_LETTERS:
            return None
        if low in self.words:
            return self.words[low]
        word = self.keys.get(sound_key(low))
        if word is not None and abs(len(word) - len(low)) <= 2:
            return word
        return None

    def repair(self, text: str) -> str:
        """`text` with runs of two or three words that sound like one office word replaced by
        it ("how much is the bay sick package" -> "how much is the Basic package")."""
        tokens = _TOKEN.findall(text)
        bare = ["".join(ch for ch in t if ch.isalpha()) for t in tokens]
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for n in (3, 2):
                run = bare[i : i + n]
                if len(run) < n or not all(run):
                    continue
                if run[0].lower() in _SMALL or run[-1].lower() in _SMALL:
                    continue
                if any(r.lower() in self.words or self._match(r) for r in run):
                    continue  # an office word already ("Riverside Court", "appointment at")
                word = self._match("".join(run))
                if word is not None:
                    out.append(word + tokens[i + n - 1][len(bare[i + n - 1]) :])
                    i += n
                    break
            else:
                out.append(tokens[i])
                i += 1
        if len(out) == len(tokens):
            return text  # nothing repaired: the words as they were heard
        repaired = " ".join(out)
        _LOGGER.debug("misheard words repaired: %r -> %r", text, repaired)
        return repaired
