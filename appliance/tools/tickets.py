"""tickets: support opens a ticket for the caller's problem and the caller hears its number.

A ticket is opened in an assistant with the tool as soon as the caller's problem is known (the
`need` slot), in the store (appliance/store/desk.py: the number is the store's), and updated as
the name, callback number or urgency arrive. The number is said by the box, in a fixed sentence
after the reply, never by the model: a caller hears a ticket number only when the ticket is on
record. New tickets are delivered to the office (mail, webhooks) through the store's outbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from appliance.config import Assistant
from appliance.tools.messages import ConversationView, caller_number

TOOL = "tickets"
URGENT = re.compile(
    r"\b(urgent(ly)?|emergency|asap|as soon as possible|right away|immediately|"
    r"(is|are|went|gone) down|completely dead|can'?t work|cannot work|nothing works|"
    r"dringend|sofort|notfall|geht gar nichts)\b",
    re.IGNORECASE,
)
SUMMARY_CHARS = 300
ANNOUNCEMENT = {
    "en": "I've opened ticket number {digits} for you; our support team will call you back.",
    "de": "Ich habe das Ticket Nummer {digits} für Sie angelegt; unser Support ruft Sie zurück.",
}


class Desk(Protocol):
    """Where tickets and leads are kept (the store)."""

    def record_lead(
        self, cid: str, *, assistant: str, fields: dict[str, str], targets: list[str]
    ) -> int: ...

    def open_ticket(
        self,
        cid: str,
        *,
        assistant: str,
        who: str,
        callback: str,
        summary: str,
        urgency: str,
        targets: list[str],
    ) -> int: ...


@dataclass(frozen=True)
class Ticket:
    """What a ticket holds (its number is the store's)."""

    who: str
    callback: str
    summary: str
    urgency: str


def urgency(slot: str, words: str) -> str:
    """'urgent' when the caller said so (the urgency slot high/urgent, or urgent words)."""
    if slot.strip().lower() in ("high", "urgent", "hoch", "dringend"):
        return "urgent"
    return "urgent" if URGENT.search(words) else "normal"


def details(conv: ConversationView, assistant: Assistant) -> Ticket | None:
    """The ticket this conversation calls for in `assistant`, or None (no tool, no problem
    known yet)."""
    need = conv.slots.get("need", "").strip()
    if TOOL not in assistant.tools or not need:
        return None
    words = " / ".join(ln.text for ln in conv.lines if ln.role == "caller")
    return Ticket(
        who=conv.slots.get("name", ""),
        callback=conv.slots.get("callback") or caller_number(conv.caller),
        summary=need[:SUMMARY_CHARS],
        urgency=urgency(conv.slots.get("urgency", ""), words),
    )


def spoken_digits(number: int) -> str:
    """1042 -> '1 0 4 2': a desk phone caller writes a number down digit by digit."""
    return " ".join(str(number))


def announcement(number: int, language: str) -> str:
    phrase = ANNOUNCEMENT.get(language, ANNOUNCEMENT["en"])
    return phrase.format(digits=spoken_digits(number))
