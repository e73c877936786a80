"""The office's records a conversation keeps as it goes (a mixin of Conversation): the message
for the team (take_message), the lead (leads), the ticket and the sentence that tells its number
(tickets), and the calendar dialogue with its tool events, its fallback ticket and reminder
calls (calendar). Each writes through the engine's desk (the store) and never raises into the
call: a store that cannot write leaves nothing promised."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from appliance.brain.parts import Message
from appliance.config import Assistant, Config
from appliance.config.calendar import office_zone
from appliance.errors import StoreError
from appliance.events import Event, MessageTaken, SlotsUpdated, ToolUsed
from appliance.tools import leads, messages, tickets
from appliance.tools.booking import TOOL, BookingDesk, Step, ToolCall
from appliance.tools.calendar_client import Booked

if TYPE_CHECKING:
    from appliance.engine import Engine

_LOGGER = logging.getLogger(__name__)


class OfficeRecords:
    """What Conversation holds for these records (set in its __init__)."""

    engine: Engine
    cfg: Config
    id: str
    current: str
    caller: str
    slots: dict[str, str]
    lines: list[Any]  # the transcript (conversation.Line)
    cancel: threading.Event
    now: Callable[[], datetime]
    message: MessageTaken | None
    ticket: int | None
    booking: BookingDesk | None
    opening: str
    closing: bool
    _messages: list[Message]
    _tools: list[dict[str, object]]
    _question: str
    _ticket_kept: tickets.Ticket | None
    _ticket_news: str
    _lead_kept: dict[str, str] | None

    @property
    def assistant(self) -> Assistant:
        raise NotImplementedError

    def emit(self, event: Event) -> None:
        raise NotImplementedError

    def _take_message(self, assistant: str, said: str = "") -> None:
        """Record or update the caller's request for the team (appliance/tools/messages.py),
        with the last question the box could not answer."""
        a = self.cfg.assistant(assistant)
        msg = messages.take(self, a, said, question=self._question)
        if msg is not None:
            self.message = msg
            self.emit(msg)
        self._record_lead(a)  # a ticket is opened where its number is told (_tell_ticket)

    def _record_lead(self, a: Assistant) -> None:
        """Record or update the caller's lead (appliance/tools/leads.py) in the store."""
        found = leads.details(self, a)
        if found is None or found == self._lead_kept or self.engine.desk is None:
            return
        targets = self.cfg.integrations.targets("lead") if self._lead_kept is None else []
        try:
            self.engine.desk.record_lead(self.id, assistant=a.name, fields=found, targets=targets)
        except StoreError as err:
            _LOGGER.error("conversation %s: %s", self.id, err)
            return
        if self._lead_kept is None:
            self._tools.append({"tool": "leads.record", "result": "ok", "args": dict(found)})
        self._lead_kept = found

    def _open_ticket(self, a: Assistant) -> None:
        """Open or update the caller's ticket (appliance/tools/tickets.py) in the store; a new
        one's number is told after this turn's reply. A store that cannot write it leaves no
        number to tell (the message, if any, still holds the request)."""
        found = tickets.details(self, a)
        if found is None or found == self._ticket_kept or self.engine.desk is None:
            return
        desk = self.engine.desk
        targets = self.cfg.integrations.targets("ticket") if self.ticket is None else []
        try:
            number = desk.open_ticket(
                self.id, assistant=a.name, who=found.who, callback=found.callback,
                summary=found.summary, urgency=found.urgency, targets=targets,
            )  # fmt: skip
        except StoreError as err:
            _LOGGER.error("conversation %s: %s", self.id, err)
            return
        if self.ticket is None:
            self._ticket_news = tickets.announcement(number, a.language)
            args = {"summary": found.summary, "name": found.who, "callback": found.callback,
                    "urgency": found.urgency}  # fmt: skip
            self._tools.append({"tool": "tickets.open", "result": "ok", "args": args})
        self.ticket, self._ticket_kept = number, found

    def _tell_ticket(self, reply: str, on_text: Callable[[str], None] | None) -> str:
        """The reply with the sentence that tells a ticket opened this turn (said after it): on
        a handoff the target opens it for the problem the caller told the front desk."""
        self._open_ticket(self.assistant)
        if not self._ticket_news or self.cancel.is_set():
            return reply  # cut off by the caller: the number is told after the next reply
        news, self._ticket_news = self._ticket_news, ""
        if on_text:
            on_text(" " + news)
        said = f"{reply} {news}".strip()
        if self._messages and self._messages[-1].role == "assistant":
            self._messages[-1] = Message("assistant", said)
        return said

    def _booking_desk(self) -> BookingDesk | None:
        """The current assistant's calendar dialogue (None: it has no calendar); a handoff
        carries what the call booked to the next one."""
        a, cal, server = self.assistant, self.engine.calendar, self.cfg.integrations.calendar
        hours = self.cfg.team.hours
        if TOOL not in a.tools or cal is None or server is None or hours is None:
            return None
        if self.booking is None or self.booking.assistant != a.name:
            zone = office_zone(self.cfg.team.timezone)
            before = self.booking
            self.booking = BookingDesk(cal, server, hours, zone, a.name)
            if before is not None:
                self.booking.booked, self.booking.done = before.booked, before.done
                self.booking.results = before.results
        return self.booking

    def remind(self, appointment: Booked) -> None:
        """Make this an outbound reminder call about `appointment` (before start()): it opens
        with the reminder; the caller keeps, moves or cancels it. ValueError: the assistant
        has no calendar."""
        desk = self._booking_desk()
        if desk is None:
            raise ValueError(f"{self.current} is not given a calendar to remind from")
        server = self.cfg.integrations.calendar
        self.opening = desk.remind(appointment, server.reminders.office if server else "")

    def _calendar_turn(self, text: str, turn: int) -> Step | None:
        """The calendar dialogue's answer (appliance/tools/booking.py) in an assistant given
        the calendar tool, or None: the model answers."""
        desk = self._booking_desk()
        if desk is None:
            return None
        phone = messages.caller_number(self.caller) or self.slots.get("callback", "")
        step = desk.turn(text, now=self.now(), name=self.slots.get("name", ""), phone=phone)
        if step is None:
            return None
        self.closing = self.closing or step.ends_call
        if step.name:
            self.slots["name"] = step.name
            self.emit(SlotsUpdated(self.id, turn=turn, slots=dict(self.slots), changed=["name"]))
        if step.call is not None:
            self._tool_used(step.call, turn)
        if step.fallback:
            step.reply = f"{step.reply} {self._calendar_fallback(step.fallback)}"
        return step

    def _tool_used(self, call: ToolCall, turn: int) -> None:
        b = call.appointment
        event = ToolUsed(
            self.id, turn=turn, assistant=self.current, tool=call.name, result=call.result,
            args=dict(call.args), detail=call.detail, kind=b.kind if b else "",
            start=b.start.isoformat() if b else "", end=b.end.isoformat() if b else "",
            uid=b.uid if b else "", who=b.who if b else "",
        )  # fmt: skip
        self._tools.append({"tool": call.name, "result": call.result, "args": dict(call.args)})
        self.emit(event)

    def _calendar_fallback(self, request: str) -> str:
        """The calendar failed: the request becomes a ticket the team sees (its number told),
        or, with no store to keep it, the caller is asked to call again or ask for a person."""
        a, desk = self.assistant, self.engine.desk
        later = "Please call again a little later, or ask for a person."
        if desk is None:
            return later
        targets = self.cfg.integrations.targets("ticket") if self.ticket is None else []
        try:
            number = desk.open_ticket(
                self.id, assistant=a.name, who=self.slots.get("name", ""),
                callback=self.slots.get("callback") or messages.caller_number(self.caller),
                summary=request, urgency="normal", targets=targets,
            )  # fmt: skip
        except StoreError as err:
            _LOGGER.error("conversation %s: %s", self.id, err)
            return later
        self.ticket = number
        return (f"I've written down your request as ticket number {tickets.spoken_digits(number)}"
                "; the team will call you back to arrange it.")  # fmt: skip
