"""The tools an assistant may be given, each mapped to the code that does it on this box.

`assistants[].tools` may name only tools in `TOOLS`. A tool in `PLANNED` is known but has no code
yet (end_call): the config checker reports it as an error, so no assistant is set up to promise
a hang-up that never happens. `handoff` is implied: the handoff rules apply whether or not the
list names it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.assistants.router import Router
from appliance.tools import booking, human, leads, messages, tickets

ALL_CHANNELS = frozenset({"text", "voice", "simulate", "console", "sip"})


@dataclass(frozen=True)
class Tool:
    """One integrated tool: what it does (for the TUI and the checker), what it works with
    (its arguments: name -> what it holds), the channels it works on and its code."""

    name: str
    does: str
    code: Callable[..., object]
    arguments: dict[str, str] = field(default_factory=dict)
    channels: frozenset[str] = ALL_CHANNELS

    def works_on(self, channel: str) -> bool:
        return channel in self.channels


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool(
            "handoff",
            "hands the caller to another assistant by the handoff rules (implied: the rules "
            "apply with or without it)",
            Router.decide,
            {"target": "an assistant named by one of the assistant's handoff rules"},
        ),
        Tool(
            "transfer_to_human",
            "puts the caller through to a team.human_extensions person on request (phone "
            "calls; appliance/tools/transfer.py runs it)",
            human.wants_person,
            {"person": "one of team.human_extensions, by name or description words"},
            frozenset({"sip"}),
        ),
        Tool(
            messages.TOOL,
            "records the caller's request (name, callback number, need) as a message for the "
            "team, shown in the TUI's Calls and Dashboard tabs",
            messages.take,
            {
                "name": "the caller's name (slot)",
                "callback": "the number to call back (slot, else the caller id)",
                "need": "what the caller wants (slot, else their own words)",
            },
        ),
        Tool(
            tickets.TOOL,
            "opens a ticket for the caller's problem (name, callback number, summary, urgency, "
            "the call's transcript) and tells the caller its number; new tickets are mailed or "
            "posted to the office (integrations)",
            tickets.details,
            {
                "summary": "the caller's problem (the need slot)",
                "name": "the caller's name (slot)",
                "callback": "the number to call back (slot, else the caller id)",
                "urgency": "urgent or normal (the urgency slot, else the caller's words)",
            },
        ),
        Tool(
            leads.TOOL,
            "records a sales lead (name, company, need, budget, urgency, callback number) and "
            "delivers it to the office's CRM (integrations: a webhook, optionally mail)",
            leads.details,
            {
                "need": "what the caller wants to buy (the need slot)",
                "name": "the caller's name (slot)",
                "company": "the caller's company (slot)",
                "budget": "the budget range (slot)",
                "urgency": "how urgent (slot)",
                "callback": "the number to call back (slot, else the caller id)",
            },
        ),
        Tool(
            booking.TOOL,
            "tells free times, books, moves and cancels the caller's own appointment on the "
            "office's CalDAV calendar (integrations.calendar), each read back and confirmed "
            "by the caller before it is written",
            booking.BookingDesk.turn,
            {
                "action": "book, move, cancel or free times (the caller's words)",
                "kind": "an appointment type of integrations.calendar offered by the assistant",
                "start": "a day and time inside team.hours, free on the calendar",
                "who": "the caller's name (slot, else asked for)",
                "phone": "the caller id",
            },
        ),
    )
}
PLANNED: dict[str, str] = {
    "end_call": "ending the call from the assistant's side",
}
