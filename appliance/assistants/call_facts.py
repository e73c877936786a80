"""The office facts of one conversation: which facts each turn's reply is given, which fact the
judge says answers the caller, and everything the replies have been given so far (what the
grounding check lets them state).

The conversation (appliance/conversation.py) puts the note into the model's messages and emits
the events; this object only holds and finds the facts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from appliance.assistants.fact_judge import SURE
from appliance.assistants.facts import (
    ANSWER_SCORE,
    JUDGE_MIN_SCORE,
    MIN_SCORE,
    TOP_K,
    FactIndex,
    Found,
)

_LOGGER = logging.getLogger(__name__)


class Judge(Protocol):
    def pick(self, question: str, found: list[Found]) -> tuple[Found | None, dict[str, float]]: ...


class CallFacts:
    """One conversation's office facts. `given` (every "topic: answer" given to a reply, each
    once) only grows; `candidates`, `asked` and `topics` are the current turn's."""

    def __init__(self, indexes: Mapping[str, FactIndex], judge: Judge) -> None:
        self.indexes = indexes
        self.judge = judge
        self.given: dict[str, None] = {}
        self.candidates: list[Found] = []  # this turn's facts, best first (the judge's too)
        self.asked = ""  # this turn's caller words, for the judge
        self.topics: list[str] = []  # the topics given to this turn's reply (and the judged one)
        self.judged = ""  # the topic of the fact the judge said answers this turn
        self.sure = False  # the judge was sure of it (below: the question goes to the team too)

    def new_turn(self) -> None:
        self.candidates, self.asked, self.topics, self.judged = [], "", [], ""
        self.sure = False

    def retrieve(self, assistant: str, text: str, asked_of: str = "") -> list[Found] | None:
        """The facts for this turn's reply (None: no assistant has facts for it). The judge
        may pick among weaker facts too (a misheard question scores low); the reply is given
        only those above the threshold. Office words the recogniser split ("bay sick") are
        put back together first (appliance/assistants/misheard.py).

        On a handoff turn the facts of the assistant the caller asked (`asked_of`) are searched
        too: the question was put to it, and a handoff made on a rule's near miss must not lose
        the price list the caller asked about."""
        named = (self.indexes.get(name) for name in dict.fromkeys([assistant, asked_of]))
        indexes = [index for index in named if index is not None and len(index)]
        if not indexes:
            return None
        for index in indexes:
            text = index.words.repair(text)
        best: dict[str, Found] = {}
        for index in indexes:
            for f in index.retrieve(text, min_score=JUDGE_MIN_SCORE):
                if f.fact.topic not in best or f.score > best[f.fact.topic].score:
                    best[f.fact.topic] = f
        self.candidates = sorted(best.values(), key=lambda f: -f.score)[:TOP_K]
        self.asked = text
        found = [f for f in self.candidates if f.score >= MIN_SCORE]
        self.given.update(dict.fromkeys(f"{f.fact.topic}: {f.fact.answer}" for f in found))
        self.topics = [f.fact.topic for f in found]
        return found

    def own_answer(self, assistant: str, text: str) -> Found | None:
        """One of the assistant's own facts (not the team's) that clearly answers `text`."""
        index = self.indexes.get(assistant)
        found = index.retrieve(index.words.repair(text), k=1) if index is not None else []
        if not found or found[0].scope != assistant or found[0].score < ANSWER_SCORE:
            return None
        return found[0]

    def judged_answer(self, conversation_id: str) -> str:
        """The fact that answers this turn's question, as the judge sees it ("" if none); asked
        only when the reply's own first sentence was kept back."""
        found, probs = self.judge.pick(self.asked, self.candidates)
        _LOGGER.info(
            "conversation %s: fact judge %s (%s)",
            conversation_id,
            repr(found.fact.topic) if found else "none",
            ", ".join(f"{k} {v:.2f}" for k, v in probs.items()),
        )
        if found is None:
            return ""
        self.judged = found.fact.topic
        self.sure = probs.get(found.fact.topic, 0.0) >= SURE
        self.topics = list(dict.fromkeys([*self.topics, found.fact.topic]))
        self.given[f"{found.fact.topic}: {found.fact.answer}"] = None
        return found.fact.answer
