"""Word error rate, on normalised words (case, punctuation and number words ignored)."""

from __future__ import annotations

import re

_NUMBERS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "twelve": "12", "fifty": "50",
}  # fmt: skip


def words(text: str) -> list[str]:
    text = text.lower().replace("'", "").replace("-", " ")
    return [_NUMBERS.get(w, w) for w in re.findall(r"[^\W_]+", text)]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1]


def wer(refs: list[str], hyps: list[str]) -> float:
    """Corpus WER: total edits over total reference words."""
    edits = sum(edit_distance(words(r), words(h)) for r, h in zip(refs, hyps, strict=True))
    total = sum(len(words(r)) for r in refs)
    return edits / max(1, total)
