"""take_message: the caller's request recorded for the team (who, callback number, what).

The message is written as soon as the caller's need is known in an assistant that has the tool,
and updated when the name or number come later, so a call that drops still leaves it. A reply
that says someone will call back (`PROMISE`) in a conversation with no message yet writes one
from the caller's own words, whichever assistant said it: the box never promises a callback
nobody will hear of.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from appliance.config import Assistant
from appliance.events import MessageTaken

TOOL = "take_message"
PROMISE = re.compile(
    r"\b(call(s|ing)? you back|ring(s|ing)? you back|get(s|ting)? back to you|give you a call|"
    r"contact(s|ing)? you|be in touch|reach(es|ing)? out to you|ruf\w* Sie\b.{0,40}\bzurück|"
    r"zurück\s?ruf\w*|Rückruf)",
    re.IGNORECASE,
)
WORDS_CHARS = 300


class _Line(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def text(self) -> str: ...


class ConversationView(Protocol):
    id: str
    caller: str
    slots: dict[str, str]
    message: MessageTaken | None

    @property
    def lines(self) -> Sequence[_Line]: ...


def caller_number(caller: str) -> str:
    """The number of a SIP caller id ('"Ann" <sip:+4930123@pbx>' -> '+4930123'), else ''."""
    m = re.search(r"sips?:([^@;>]+)@", caller)
    user = m.group(1) if m else re.sub(r"[\s().-]", "", caller)  # '+49 30 555' as written
    return user if re.fullmatch(r"\+?\d{2,}", user) else ""


def _their_words(lines: Sequence[_Line]) -> str:
    said = " / ".join(ln.text for ln in lines if ln.role == "caller" and ln.text)
    return said[-WORDS_CHARS:]


def take(
    conv: ConversationView, assistant: Assistant, said: str = "", *, question: str = ""
) -> MessageTaken | None:
    """The message to record after a slot update or a reply (`said`), or None if nothing new.
    `question`: a question the box could not answer from the office facts (it deferred): it
    goes into the message, so someone answers it."""
    old = conv.message
    need = conv.slots.get("need", "")
    if old is None and not ((TOOL in assistant.tools and need) or PROMISE.search(said)):
        return None
    what = need or (old.what if old is not None else "") or _their_words(conv.lines)
    if question:
        asked = f"asked: {question.strip()}"
        what = asked if not what or what == _their_words(conv.lines) else f"{what}; {asked}"
        if old is not None and asked in old.what:
            what = old.what
    who = conv.slots.get("name", "")
    callback = conv.slots.get("callback") or caller_number(conv.caller)
    if old is not None and (old.who, old.callback, old.what) == (who, callback, what):
        return None
    return MessageTaken(
        conv.id,
        assistant=old.assistant if old is not None else assistant.name,
        who=who,
        callback=callback,
        what=what,
    )
