"""Finding the office facts a caller's turn needs (config: team.facts, assistants[].facts).

Each fact is embedded once (MiniLM, the router's embedder) as its topic with its answer and as
each of its example questions; a caller's words are scored against them by cosine similarity
plus a bonus for the content words they share with the fact (names and numbers embed poorly).
The best few above a threshold go to the reply with the turn, so the cached system prompt stays
small.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from appliance.assistants.grounding import words_of
from appliance.assistants.misheard import OfficeWords
from appliance.brain.parts import TextEmbedder
from appliance.config import Assistant, Config
from appliance.config.facts import Fact

_LOGGER = logging.getLogger(__name__)
TOP_K = 3
MIN_SCORE = 0.35  # cosine plus keyword bonus; below it a fact is not given to the reply
JUDGE_MIN_SCORE = 0.2  # ...but the fact judge (assistants/fact_judge.py) may still pick it
# a fact of the assistant's own this strong keeps a handoff the LLM chose from happening
# (conversation.py). Which fact answers a caller is not a matter of score (on the dev split of
# tests/grounding the expected fact scored 0.65-1.32, the best fact for an unanswerable question
# 0.37-1.20): the fact judge decides that (appliance/assistants/fact_judge.py)
ANSWER_SCORE = 0.84
KEYWORD_BONUS = 0.12  # per content word the caller's words share with the fact (at most 3)
_WORD = re.compile(r"[a-zäöüß0-9]+")
_STOP = words_of(
    "a an the and or of to in on at for with is are was be do does did you your we our i "
    "me my it its this that what which who when where how can could would will there any "
    "have has had about please much many tell know like want need get us they them he she "
    "hi hello yes no so if not just also some all from by as okay ok"
)


def content_words(text: str) -> set[str]:
    words = {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}
    return {w[:-1] if len(w) > 4 and w.endswith("s") else w for w in words}


@dataclass(frozen=True)
class Found:
    """A fact for this turn, with its score and where it comes from ("team" or an assistant)."""

    fact: Fact
    score: float
    scope: str


class FactIndex:
    """The facts one assistant may use (the team's and its own), embedded once."""

    def __init__(self, cfg: Config, assistant: Assistant, embedder: TextEmbedder) -> None:
        self.items = [(f, "team") for f in cfg.team.facts]
        self.items += [(f, assistant.name) for f in assistant.facts]
        texts: list[str] = []
        self._owner: list[int] = []  # which fact each embedded text belongs to
        self._words: list[set[str]] = []
        for i, (f, _) in enumerate(self.items):
            for text in (f"{f.topic}: {f.answer}", f.topic, *f.examples):
                texts.append(text)
                self._owner.append(i)
            self._words.append(content_words(" ".join([f.topic, f.answer, *f.examples])))
        self._vecs = embedder.embed(texts) if texts else np.zeros((0, 1), np.float32)
        facts = [f for f, _ in self.items]
        self.words = OfficeWords(
            [t for f in facts for t in (f.answer, *f.examples)], [f.topic for f in facts]
        )
        self.embedder = embedder

    def __len__(self) -> int:
        return len(self.items)

    def retrieve(self, text: str, *, k: int = TOP_K, min_score: float = MIN_SCORE) -> list[Found]:
        """The facts that answer `text` best, best first (at most `k`, none below
        `min_score`)."""
        if not self.items or not text.strip():
            return []
        query = self.embedder.embed([text])[0]
        sims = self._vecs @ query
        best = np.full(len(self.items), -1.0)
        for j, owner in enumerate(self._owner):
            best[owner] = max(best[owner], float(sims[j]))
        asked = content_words(text)
        scored = []
        for i, (fact, scope) in enumerate(self.items):
            shared = len(asked & self._words[i])
            score = float(best[i]) + KEYWORD_BONUS * min(shared, 3)
            if score >= min_score:
                scored.append(Found(fact, round(score, 3), scope))
        scored.sort(key=lambda f: -f.score)
        return scored[:k]
