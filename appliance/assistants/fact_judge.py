"""Which office fact, if any, answers the caller: asked of the shared model when the reply's own
sentence was kept back (appliance/assistants/checked_reply.py).

Retrieval scores cannot tell "the fact that answers" from "the fact about the same thing" (on
the dev split of tests/grounding the expected fact scored 0.65-1.32 and the best fact for an
unanswerable question 0.37-1.20): "Is there a garage at the Elm Street house?" finds the Elm
Street listing, which says nothing about a garage. So the model is asked, fact by fact, best
first, on the utility session (a cached prompt of bakery examples; one forward pass per fact,
the logits of "yes" and "no" compared as the router's LLM check does): does this fact tell the
caller what they asked? A fact it accepts is said word for word (with the offer of a message);
none accepted means the deferral.

Measured on the dev split (72 questions, qwen2.5-coder-1.5b, 2 cores; not tuned on the eval
split): p(yes) of the best fact for an unanswerable question 0.01-0.30, of the expected fact for
an answerable one 0.04-1.00 (median 0.72); 310 ms a fact (p95 395). Asking all three facts and
taking the most likely was chosen over one pass with the facts numbered: that put 0.3-0.5 on
"1" whatever the facts said.

A question of two parts ("What does express shipping cost, and can you deliver the same
evening?") is also asked part by part, and a fact's p(yes) is its best over the whole and the
parts: the whole put 0.17-0.34 on the fact that answers the first part of each of the four mixed
dev questions, their parts 0.58-0.83 (bench/bench_fact_judge.py, dev split: the expected fact
picked for 39 of 48 answerable questions before, 42 after; no unanswerable question got a fact
either way). More examples in the prompt (a free tasting, an indirect "would I still find you
open", a mixed question) were tried and dropped: 39 of 48 and a nearby fact accepted for two
questions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from appliance.assistants.facts import Found
from appliance.brain.parts import ReplyBrain

_LOGGER = logging.getLogger(__name__)
JUDGE_KEY = "facts-judge"
ACCEPT = 0.35  # p(yes) at least this: the fact answers (unanswerable dev questions: 0.30 at most)
SURE = 0.6  # p(yes) at least this: no later fact is asked
MAX_FACTS = 3

# the examples are a bakery's, so that no template's facts or grounding questions are in them
JUDGE_PROMPT = """\
You check whether an office fact answers a caller's question on the phone. The caller's words \
come from speech recognition and may be misheard ("bay sick" for "basic", "month lee" for \
"monthly"). Reply yes when the fact tells the caller what they asked, no when it does not. A \
fact about the same thing (the same house, product or office) that does not say what was asked \
is no answer: reply no.

Fact: bread: We bake sourdough, rye and gluten-free loaves every morning.
Question: do you bake gluten free bread
Answer: yes

Fact: shop on Mill Road: Our second shop is at 12 Mill Road, open daily from 8 am.
Question: is there parking at the shop on Mill Road
Answer: no

Fact: opening hours: Monday to Saturday 7 am to 6 pm; Sunday 8 am to noon.
Question: wen do you open on son day
Answer: yes

Fact: who we are: A family bakery in Springfield since 1982.
Question: how many bakers work for you
Answer: no

Fact: celebration cakes: A cake for 20 people costs 45 dollars; order two days ahead.
Question: I need a cake for my daughter's party with twenty kids, what would that run me
Answer: yes

Fact: loyalty card: Every tenth coffee is free with our loyalty card.
Question: do you give a discount to students
Answer: no"""


# a question of two parts ("What does Premium cost, and can I get 20% off?"): each part is asked
# on its own too, since a fact that answers one part is no answer to the whole for a small model
_SECOND_PART = re.compile(
    r",?\s+(?:and|but|also|or|plus)\s+(?=(?:can|could|do|does|did|is|are|will|would|what|"
    r"what's|how|when|where|who|which|if|should)\b)|\?\s+(?=\w)",
    re.IGNORECASE,
)


def parts_of(question: str) -> list[str]:
    """The question, then its parts when it has two or more (each of at least three words)."""
    parts = [p.strip(" ,?") for p in _SECOND_PART.split(question.strip())]
    parts = [p for p in parts if len(p.split()) >= 3]
    return [question.strip(), *parts] if len(parts) > 1 else [question.strip()]


def judge_input(question: str, found: Found) -> str:
    return f"Fact: {found.fact.topic}: {found.fact.answer}\nQuestion: {question.strip()}"


class FactJudge:
    """Asks the shared model which of a turn's facts answers the caller (None: no fact does)."""

    def __init__(self, brain: ReplyBrain) -> None:
        self.brain = brain

    def warm(self) -> None:
        self.brain.warm_utility(JUDGE_KEY, JUDGE_PROMPT)

    def pick(self, question: str, found: Sequence[Found]) -> tuple[Found | None, dict[str, float]]:
        """The fact that answers `question` (or None), and p(yes) of each fact asked."""
        asked: dict[str, float] = {}
        if not question.strip():
            return None, asked
        best: Found | None = None
        for f in list(found)[:MAX_FACTS]:
            p = asked[f.fact.topic] = self.p_yes(question, f)
            if p >= ACCEPT and (best is None or p > asked[best.fact.topic]):
                best = f
            if p >= SURE:
                break
        return best, asked

    def p_yes(self, question: str, found: Found) -> float:
        """How sure the model is that `found` answers `question`: its best over the whole
        question and each of its parts."""
        return max(
            self.brain.choose(JUDGE_KEY, judge_input(part, found), ["no", "yes"])[1].get("yes", 0.0)
            for part in parts_of(question)
        )
