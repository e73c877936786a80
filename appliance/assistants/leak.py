"""A reply must never quote the system prompt: a streaming check before the words are spoken.

The reply's words are compared with the prompt's as they are generated. Words that could be the
start of a quote (the reply's last words appear, in order, in the prompt) are held back; as soon
as the run breaks they are released. A run of `QUOTE_WORDS` prompt words in a row is a quote:
nothing more of the reply is released and the caller hears the fixed refusal instead. Normal
replies share only a word or two in a row with the prompt, so holding back costs them nothing
audible; a reply that reads out a fact from the prompt verbatim is held until it departs from it.
"""

from __future__ import annotations

import re
from functools import lru_cache

QUOTE_WORDS = 12  # prompt words in a row that count as quoting it
_TOKEN = re.compile(r"[\w']+")
_WORD = re.compile(r"\S+")


def _tokens(text: str) -> list[str]:
    return [t.lower().strip("'") for t in _TOKEN.findall(text) if t.strip("'")]


# a phrase the prompt puts in quotes is one the assistant is told to say ("Say: 'I'll pass your
# request to the team; someone will call you back.'"): saying it is no leak. A prompt written as
# a YAML block often breaks such a phrase across lines; a phrase is at most 400 characters, so a
# stray quote mark cannot exempt the rest of the prompt
_QUOTED = re.compile(r'"[^"]{0,400}"|\u201c[^\u201d]{0,400}\u201d')


@lru_cache(maxsize=64)
def _grams(secret: str, words: int) -> frozenset[tuple[str, ...]]:
    """Every run of 1..words consecutive tokens of the secret (a profile's prompt: built once),
    within the stretches outside quoted phrases (a run never spans a quoted phrase)."""
    grams: set[tuple[str, ...]] = set()
    for part in _QUOTED.split(secret):
        toks = _tokens(part)
        grams.update(
            tuple(toks[i : i + k]) for k in range(1, words + 1) for i in range(len(toks) - k + 1)
        )
    return frozenset(grams)


class QuoteGuard:
    """Feed the reply as it streams; get back the text that is safe to speak now."""

    def __init__(self, secret: str, *, words: int = QUOTE_WORDS) -> None:
        self.n = words
        self._grams = _grams(secret, words)
        self._buf = ""  # text not released yet
        self._done = 0  # chars of _buf whose words were checked
        self._run: list[tuple[str, int]] = []  # held tokens with the char offset of their word
        self.leaked = False
        self.released = ""  # everything handed out so far (what the caller hears)

    def feed(self, piece: str) -> str:
        if self.leaked:
            return ""
        self._buf += piece
        for m in _WORD.finditer(self._buf, self._done):
            if m.end() == len(self._buf):  # the last word may go on in the next piece
                break
            self._check(m.group(0), m.start())
            self._done = m.end()
            if self.leaked:  # what came before the quote may still be said
                return self._release()
        return self._release()

    def flush(self) -> str:
        """The rest of the reply when it has ended (nothing if it quoted the prompt)."""
        if self.leaked:
            return ""
        for m in _WORD.finditer(self._buf, self._done):
            self._check(m.group(0), m.start())
            if self.leaked:
                return self._release()
        self._done = len(self._buf)
        self._run = []
        return self._release()

    def _check(self, word: str, start: int) -> None:
        for tok in _tokens(word):
            self._run.append((tok, start))
            while self._run and tuple(t for t, _ in self._run) not in self._grams:
                self._run.pop(0)
            if len(self._run) >= self.n:
                self.leaked = True
                return

    def _release(self) -> str:
        cut = self._run[0][1] if self._run else self._done
        out, self._buf = self._buf[:cut], self._buf[cut:]
        self._done -= cut
        self.released += out
        self._run = [(t, s - cut) for t, s in self._run]
        return out
