"""A reply is checked before the caller hears it: the quote check (assistants/leak.py) and then
the grounding check (assistants/grounding.py), on the stream, sentence by sentence.

What passes both goes to `on_text` as it is generated. A quote of the system prompt stops the
reply and the caller hears the refusal; the first sentence no office fact supports stops it and
the caller hears the deferral. Either way generation stops at once.

When office facts came with the turn (`known`), a reply that says it has no answer, or that it
passes the request on to the team, is kept back too, since the office may have the answer. A
sentence kept back before anything was said is then replaced by the fact that answers the
caller, if `answer()` finds one (appliance/assistants/fact_judge.py: it is asked only then), word
for word, and `after_answer` (an offer to take a message if it does not answer them; after a
kept-back "I'll pass your request on", that sentence itself, since the caller wants something
done); otherwise the caller hears the deferral (or the reply's own "I don't have that
information" or "I'll pass your request on", when that was all that was kept back).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from appliance.assistants.grounding import Blocked, GroundingGuard, Support
from appliance.assistants.leak import QuoteGuard


@dataclass(frozen=True)
class CheckedReply:
    text: str  # what the caller heard, tidied ("" when nothing was said)
    first_ms: float  # time to the first generated piece
    leaked: bool  # it quoted the system prompt: the refusal was said
    blocked: Blocked | None  # the sentence kept back: the deferral (or the answer) was said
    answered: bool = False  # the office fact was said instead of the reply's own words


def speak_checked(
    stream: Iterator[str],
    *,
    secret: str,
    support: Support,
    language: str,
    refusal: str,
    deferral: str,
    known: bool = False,
    answer: Callable[[], str] | None = None,
    after_answer: str = "",
    on_text: Callable[[str], None] | None = None,
) -> CheckedReply:
    """Run the reply `stream` through both checks; `on_text` gets what may be spoken."""
    t0 = time.perf_counter()
    first = 0.0
    pieces: list[str] = []
    quotes = QuoteGuard(secret)
    grounding = GroundingGuard(support, language=language, known=known)

    def say(text: str) -> None:
        if text and on_text:
            on_text(text)

    for piece in stream:
        if not pieces:
            first = (time.perf_counter() - t0) * 1000
        pieces.append(piece)
        safe = grounding.feed(quotes.feed(piece))
        if quotes.leaked or grounding.blocked is not None:
            getattr(stream, "close", lambda: None)()  # stop generating
            break
        say(safe)
    if not quotes.leaked:
        rest = grounding.feed(quotes.flush())
        if grounding.blocked is None:
            rest += grounding.flush()
        say(rest)
    spoken = grounding.spoken
    if quotes.leaked:
        say(" " + refusal)
        text = tidy_reply(f"{spoken} {refusal}")
    elif grounding.blocked is not None and not spoken.strip() and (fact := _answer(answer)):
        # the reply's own "I'll pass your request on" still follows the fact: the caller
        # asked for something the team must do
        then = grounding.blocked.sentence if _passed_on(grounding.blocked) else after_answer
        said = f"{fact} {then}".strip()
        say(said)
        return CheckedReply(tidy_reply(said), first, False, grounding.blocked, answered=True)
    elif grounding.blocked is not None and _only_deferral(grounding.blocked):
        own = grounding.blocked.sentence  # its own "I don't have that" stands: no fact answers
        say(" " + own)
        return CheckedReply(tidy_reply(f"{spoken} {own}"), first, False, None)
    elif grounding.blocked is not None:
        say(" " + deferral)
        text = tidy_reply(f"{spoken} {deferral}")
    else:
        text = tidy_reply("".join(pieces))
    return CheckedReply(text, first, quotes.leaked, grounding.blocked)


def _only_deferral(blocked: Blocked) -> bool:
    return all(c.kind in ("deferral", "passed on") for c in blocked.claims)


def _passed_on(blocked: Blocked) -> bool:
    return all(c.kind == "passed on" for c in blocked.claims)


def _answer(answer: Callable[[], str] | None) -> str:
    return answer() if answer is not None else ""


def tidy_reply(text: str) -> str:
    """Trim a generated reply to whole sentences and drop chat-markup leftovers."""
    text = re.sub(r"<\|[^|]*\|>", "", text).strip()
    text = re.sub(r"\s+", " ", text)
    if not re.search(r"\w", text):
        return ""
    if text and text[-1] not in ".!?\"'" and re.search(r"[.!?]", text):
        text = text[: max(text.rfind("."), text.rfind("!"), text.rfind("?")) + 1]
    return text
