"""Transfer to a human: does the caller ask for a person, and which configured one.

Only `team.human_extensions` can ever be reached: a number or address the caller names is never
dialled (toll fraud and social engineering start with "just transfer me to ...").
"""

from __future__ import annotations

import re
from datetime import datetime

from appliance.assistants.spoken_time import spoken_when
from appliance.config import HumanExtension
from appliance.config.calendar import Hours

# asking for a person outright: a real person, a human, the operator, put me through to someone
_EXPLICIT = re.compile(
    r"\b(real|actual|live) (person|human|human being|people|someone|somebody|agent)\b|"
    r"\bhuman( being)?\b|\boperator\b|\breceptionist\b|\bperson,? please\b|"
    r"\b(put me through|transfer me|connect me) to (someone|somebody|a person|anyone|a member of "
    r"(staff|the team)|your (staff|team|office))\b|"
    r"\b(real|actual) people\b|\bnot a (bot|robot|machine|computer)\b",
    re.I,
)
# a generic person word: "can I talk to someone" is a request, "someone about pricing" a topic
_PERSON = re.compile(
    r"\b(a person|person|someone|somebody|anyone|anybody|staff|a member of staff|"
    r"representative|agent|manager|technician|engineer|colleague)\b"
    r"(?: on[- ](?:call|duty))?",  # "the technician on call" is a person, not a topic
    re.I,
)
_ASK = re.compile(
    r"\b(talk|speak|connect|transfer|put me through|get me|give me|want|need|let me|"
    r"can i have|could i have|reach|like|looking for)\b",
    re.I,
)
# what follows the person word names a topic: let the team route it (or ask)
_TOPIC = re.compile(
    r"^\W*(about|to (fix|help|look|check|come|repair|sort|discuss|book|talk about)|who|that|"
    r"for|regarding|in|from|at|with|on)\b\s*(?P<rest>[\w' ]*)",
    re.I,
)
_NOT_TOPIC = re.compile(
    r"^(your|the|this|our)? ?(team|office|company|staff|shop|clinic|practice|firm|front desk)?"
    r" ?(please|now|right now|there|here|then)?$",
    re.I,
)
# a negated request anywhere before the ask, within one clause
_NOT = re.compile(
    r"\b(don't|dont|do not|does not|not|never|no need|no need to|rather not|without)\b"
    r"[^.?!,;]{0,30}\b(talk|speak|need|want|connect|transfer|put|person|human|someone|"
    r"operator|anyone)\b",
    re.I,
)
_NUMBER = re.compile(r"(?:\+?\d[\d\s\-.]{2,}\d)")
_WORD = re.compile(r"[a-z]+")
_STOP = {"the", "a", "an", "at", "on", "for", "of", "to", "and", "or", "who", "in", "with"}


def wants_person(text: str) -> bool:
    """The caller asks to be put through to a person.

    An explicit request (a real person, a human, the operator, put me through to someone) is
    one; "someone" with a topic ("someone about pricing", "someone to fix my printer") is not:
    the team routes the topic. A negated request ("can you not connect me to a person") is not.
    """
    if _NOT.search(text):
        return False
    if _EXPLICIT.search(text):
        return True
    if not _ASK.search(text):
        return False
    m = _PERSON.search(text)
    if m is None:
        return False
    topic = _TOPIC.match(text[m.end() :])
    if topic is None:
        return True
    return bool(_NOT_TOPIC.match(topic.group("rest").strip()))


def keypad_wants_person(digits: str, human_key: str) -> bool:
    """Typed keys ask for a person only when they are the human key alone: "0" is a request,
    "0049 89 1234" a number typed on the keypad (numbers start with 0 in much of Europe)."""
    return bool(human_key) and digits == human_key


def named_number(text: str) -> str | None:
    """A phone number or extension the caller says (3+ digits), if any."""
    m = _NUMBER.search(text)
    if m is None:
        return None
    digits = re.sub(r"\D", "", m.group(0))
    return digits if len(digits) >= 3 else None


def pick(text: str, humans: list[HumanExtension]) -> HumanExtension | None:
    """The configured person the caller asks for (by name or description words), else the
    first one; None when there is nobody to transfer to."""
    if not humans:
        return None
    words = set(_WORD.findall(text.lower())) - _STOP
    best, score = humans[0], 0
    for h in humans:
        own = {h.name.lower()} | (set(_WORD.findall(h.description.lower())) - _STOP)
        s = len(words & own)
        if s > score:
            best, score = h, s
    return best


def by_name(name: str, humans: list[HumanExtension]) -> HumanExtension | None:
    return next((h for h in humans if h.name == name), humans[0] if humans else None)


def closed_reply(hours: Hours | None, now: datetime, *, takes_messages: bool) -> str | None:
    """What a caller asking for a person hears when the office is closed (team.hours): when it
    opens, instead of ringing an empty office, and the offer of a message only where the
    assistant can record one (`takes_messages`: take_message or tickets); None when open (or no
    hours are configured)."""
    if hours is None or hours.is_open(now):
        return None
    opens = hours.next_open(now)
    when = f"; we open again on {spoken_when(opens)}" if opens is not None else ""
    if not takes_messages:
        return f"I'm sorry, the office is closed right now{when}. Please call again then."
    return (f"I'm sorry, the office is closed right now{when}. I can take a message for the "
            "team instead: what is your name, and what is it about?")  # fmt: skip
