"""Cut a stream of reply tokens into sentences to speak as soon as each is complete."""

from __future__ import annotations

import re

_END = re.compile(r"([.!?]+[\"')\]]*)(\s+)")
_ABBREV = re.compile(r"\b(mr|mrs|ms|dr|st|no|vs|etc|e\.g|i\.e|a\.m|p\.m|approx|inc|ltd)\.$", re.I)
_MARKUP = re.compile(r"<\|[^|]*\|>|[*_#`]+")


def sentence_end(text: str) -> int | None:
    """Where the first finished sentence of `text` ends, with the blanks after it (None: no
    sentence is finished yet; "Dr." and "3.5" end none)."""
    for m in _END.finditer(text):
        head = text[: m.end(1)]
        if _ABBREV.search(head) or (re.search(r"\d\.$", head) and m.group(2) == ""):
            continue
        return m.end()
    return None


class SentenceSplitter:
    """Feed text pieces; get back finished sentences. The first one may be cut at a comma
    after `first_min_words` words, so that the caller hears something sooner."""

    def __init__(self, *, first_min_words: int = 4) -> None:
        self.buf = ""
        self.first = True
        self.first_min_words = first_min_words

    def feed(self, piece: str) -> list[str]:
        self.buf += _MARKUP.sub("", piece)
        out: list[str] = []
        while True:
            cut = self._cut()
            if cut is None:
                return out
            sentence, self.buf = self.buf[:cut].strip(), self.buf[cut:].lstrip()
            if sentence:
                out.append(sentence)
                self.first = False

    def _cut(self) -> int | None:
        end = sentence_end(self.buf)
        if end is not None:
            return end
        if self.first:
            comma = re.search(r"[,;:]\s", self.buf)
            if comma and len(self.buf[: comma.start()].split()) >= self.first_min_words:
                return comma.end()
        return None

    def flush(self) -> list[str]:
        rest, self.buf = self.buf.strip(), ""
        return [rest] if re.search(r"\w", rest) else []
