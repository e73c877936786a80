"""calendar: the caller asks for free times, books, moves or cancels their own appointment.

A slot-filling dialogue run by code, not by the model: the caller's words give the action
(book, move, cancel, free times), the appointment type, the day and time (appliance/tools/
when.py) and the name; what is missing is asked for, never guessed. Every write is read back
and waits for the caller's yes; at the yes the arguments are validated against the tool's schema
(`BookArgs`), free and busy times are read from the server again (a slot taken since it was
offered is told with the nearest free times), and only then is the calendar written. What the
caller hears after a write is read back from the server. A calendar that fails (down, timeout,
wrong password) gives an apology and a fallback (`Step.fallback`: the request, for a ticket the
conversation opens), never silence.

The replies are fixed sentences (English): the model phrases nothing that a booking depends on.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Protocol

from pydantic import BaseModel, Field, ValidationError, field_validator

from appliance.assistants.policy import agrees
from appliance.assistants.spoken_time import or_list, spoken_day, spoken_time, spoken_when
from appliance.config.calendar import AppointmentType, CalendarServer, Hours
from appliance.tools import booking_words as words
from appliance.tools import free_times
from appliance.tools.booking_words import caller_name
from appliance.tools.calendar_client import Booked, CalendarError
from appliance.tools.contacts import digits, same_number
from appliance.tools.when import Wanted, resolve

_LOGGER = logging.getLogger(__name__)

TOOL = "calendar"
DONE_WORDS = {
    "book": ("booked", "scheduled", "confirmed", "reserved"),
    "move": ("moved", "rescheduled", "confirmed"),
    "cancel": ("cancelled", "canceled"),
}


class Calendar(Protocol):
    """The office calendar (appliance/tools/calendar_client.py: CalDavCalendar)."""

    def events(self, start: datetime, end: datetime) -> list[Booked]: ...
    def get(self, uid: str) -> Booked | None: ...
    def book(
        self,
        kind: str,
        start: datetime,
        end: datetime,
        *,
        who: str,
        phone: str,
        buffer_min: int,
        note: str,
    ) -> Booked: ...
    def move(self, uid: str, start: datetime, end: datetime) -> Booked: ...
    def cancel(self, uid: str) -> None: ...


class BookArgs(BaseModel):
    """The schema a calendar write is validated against before it runs."""

    action: str = Field(pattern=r"^(book|move|cancel)$")
    kind: str = Field(min_length=1)
    start: datetime
    who: str = Field(min_length=2, max_length=80)
    phone: str = Field(default="", max_length=40)
    uid: str = ""

    @field_validator("start")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("a start time needs the office's time zone")
        return v


@dataclass
class ToolCall:
    """One calendar action the dialogue ran (or refused to run): for the call log and flows."""

    name: str  # calendar.free | calendar.book | calendar.move | calendar.cancel
    args: dict[str, str]
    result: str  # ok | conflict | failed | invalid | not found
    detail: str = ""
    appointment: Booked | None = None


@dataclass
class Step:
    """What the calendar dialogue says this turn, and what it did."""

    reply: str
    call: ToolCall | None = None
    fallback: str = ""  # the request, for a ticket, when the calendar failed
    name: str = ""  # the caller's name, learnt this turn
    ends_call: bool = False  # the reply says goodbye: the box hangs up after it


@dataclass
class Pending:
    action: str
    kind: AppointmentType
    start: datetime | None = None
    existing: Booked | None = None


@dataclass
class BookingDesk:
    """The calendar dialogue of one conversation (in the assistants given the calendar tool)."""

    calendar: Calendar
    server: CalendarServer
    hours: Hours
    zone: tzinfo
    assistant: str
    action: str = ""  # book | move | cancel | free: what the caller is after
    kind: AppointmentType | None = None
    day: date | None = None  # the day talked about
    asked: str = ""  # what the last reply asked for: name | kind | time | which | confirm
    pending: Pending | None = None
    offered: list[datetime] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # claims a reply may make ("booked")
    booked: Booked | None = None  # the appointment this call booked or moved (or reminds of)
    results: list[str] = field(default_factory=list)  # writes the server confirmed, and keeps

    def remind(self, b: Booked, office: str) -> str:
        """Open a reminder call about `b` (the box called the caller): the first sentence.
        The caller keeps it (a yes), or moves or cancels it as in any call."""
        self.booked, self.asked, self.kind = b, "keep", self._type_of(b)
        who = f" under the name {b.who}" if b.who else ""
        return (
            f"Hello, this is {office or 'the office'} with a reminder of your "
            f"{self.kind.name} on {spoken_when(b.start)}{who}. Does that still suit you, or "
            "would you like to move or cancel it?"
        )

    def _type_of(self, b: Booked) -> AppointmentType:
        kind = next((k for k in self._kinds() if k.name == b.kind), None)
        return kind or AppointmentType(
            name=b.kind or "appointment",
            duration_min=max(5, int((b.end - b.start).total_seconds() // 60)),
        )

    def _keep(self, text: str) -> Step:
        """The answer to a reminder: kept (a yes), or asked what they would like instead."""
        b = self.booked
        assert b is not None
        if agrees(text) or words.KEEP.search(text):
            self.asked = ""
            self.results.append("keep")
            return Step(
                f"Thank you, we look forward to seeing you on {spoken_when(b.start)}. Goodbye.",
                ToolCall("calendar.keep", {"uid": b.uid}, "ok", appointment=b),
                ends_call=True,
            )
        if words.NO.search(text):
            return Step("Would you like to move it to another day, or cancel it?")
        return Step("Sorry, I didn't catch that: shall I keep the appointment, move it, "
                    "or cancel it?")  # fmt: skip

    # -- one turn -------------------------------------------------------------------------

    def turn(self, text: str, *, now: datetime, name: str, phone: str) -> Step | None:
        """The calendar's answer to this caller turn, or None (the model answers)."""
        now = now.astimezone(self.zone)
        wanted = resolve(text, now)
        intent = self._intent(text)
        learnt = ""
        says = words.SAYS_NAME.search(text)
        if not name and says:  # "... my name is Bob Jones"
            learnt = name = caller_name(text[says.start() :])
        if self.asked == "name" and not name and wanted.empty:
            learnt = name = caller_name(text)
            if not name:
                return Step("Sorry, I didn't get the name. Under which name shall I put it?")
        try:
            step = self._answer(text, wanted, intent, now, name, phone)
        except CalendarError as err:
            step = self._failed(err, text)
        if step is not None and learnt:
            step.name = learnt
        return step

    def _intent(self, text: str) -> str:
        if words.CANCEL.search(text):
            return "cancel"
        if words.MOVE.search(text):
            return "move"
        if words.FREE.search(text) and not words.BOOK.search(text):
            return "free"
        if words.BOOK.search(text):
            return "book"
        if self._kind_in(text) is not None and not words.QUESTION.match(text):
            return "book"  # "a consultation, please"; not "how long is a consultation?"
        return ""

    def _answer(
        self, text: str, wanted: Wanted, intent: str, now: datetime, name: str, phone: str
    ) -> Step | None:
        if self.asked == "keep" and self.booked is not None and not intent and wanted.empty:
            return self._keep(text)
        if (
            self.asked == "confirm"
            and self.pending is not None
            and wanted.empty
            and (not intent or intent == self.pending.action)
        ):
            if agrees(text):
                return self._commit(now, name, phone)
            if words.NO.search(text):
                return self._declined()
            return Step(f"Just to be sure, please say yes or no: {self._question()}")
        picked = self._picked(text, wanted)
        waiting = self.asked in ("name", "kind") or (self.pending and self.pending.start)
        if not intent and wanted.empty and picked is None and not waiting:
            return None  # nothing new for the calendar: the model answers
        if intent in ("move", "cancel"):
            self.action, self.pending = intent, None
        elif intent in ("book", "free") and self.action not in ("move",):
            self.action = intent if not (intent == "free" and self.action == "book") else "book"
        if not self.action:
            if wanted.empty or self.asked == "":
                return None  # no calendar talk: the model answers
            self.action = "book"
        self.kind = self._kind_in(text) or self.kind or self._only_kind()
        if wanted.day is not None:
            self.day = wanted.day
        if self.action in ("move", "cancel"):
            return self._own(text, wanted, picked, now, name, phone)
        if self.kind is None:
            self.asked = "kind"
            kinds = or_list([f"a {k.name}" for k in self._kinds()])
            return Step(f"Which kind of appointment would you like: {kinds}?")
        p = self.pending
        if p is not None and p.action == "book" and p.start and wanted.empty and not picked:
            return self._read_back(name) if name else self._ask_name()
        start = picked or self._start(wanted)
        if start is None:
            return self._offer_day(now, wanted)
        return self._propose_book(start, now, name, phone)

    # -- what the caller means ----------------------------------------------------------------

    def _kinds(self) -> list[AppointmentType]:
        return self.server.offered_by(self.assistant)

    def _only_kind(self) -> AppointmentType | None:
        kinds = self._kinds()
        return kinds[0] if len(kinds) == 1 else None

    def _kind_in(self, text: str) -> AppointmentType | None:
        low = text.lower()
        for k in self._kinds():
            for word in (k.name, *k.words):
                if re.search(rf"\b{re.escape(word.lower())}s?\b", low):
                    return k
        return None

    def _picked(self, text: str, wanted: Wanted) -> datetime | None:
        """One of the times just offered, by its time ("11"), its order ("the first") or a
        yes when one was offered."""
        if not self.offered:
            return None
        if wanted.at is not None:
            day = wanted.day
            for o in self.offered:
                if o.time() == wanted.at and (day is None or o.date() == day):
                    return o
            return None
        low = text.lower()
        for word, i in words.ORDINALS.items():
            if re.search(rf"\b{word}\b", low):
                return self.offered[i] if -len(self.offered) <= i < len(self.offered) else None
        if len(self.offered) == 1 and agrees(text):
            return self.offered[0]
        return None

    def _start(self, wanted: Wanted) -> datetime | None:
        day = wanted.day or self.day
        if day is None or wanted.at is None:
            return None
        return datetime.combine(day, wanted.at, self.zone)

    # -- offering free times ------------------------------------------------------------------

    def _earliest(self, now: datetime) -> datetime:
        return now + timedelta(minutes=self.server.notice_min)

    def _busy(self, start: datetime, end: datetime) -> list[Booked]:
        return self.calendar.events(start - timedelta(hours=12), end + timedelta(hours=12))

    def _free_on(
        self, day: date, now: datetime, part: object = None, skip_uid: str = ""
    ) -> list[datetime]:
        assert self.kind is not None
        start = datetime.combine(day, datetime.min.time(), self.zone)
        busy = self._busy(start, start + timedelta(days=1))
        return free_times.day_starts(
            day,
            self.kind,
            self.hours,
            busy,
            earliest=self._earliest(now),
            step_min=self.server.step_min,
            zone=self.zone,
            part=part,  # type: ignore[arg-type]
            skip_uid=skip_uid,
        )

    def _next_free(
        self, after: datetime, now: datetime, n: int, skip_uid: str = ""
    ) -> list[datetime]:
        """The first n free starts from `after` on (one read of the calendar per 7 days)."""
        assert self.kind is not None
        out: list[datetime] = []
        last = now.date() + timedelta(days=self.server.days_ahead)
        day = max(after.date(), now.date())
        while day <= last and len(out) < n:
            block_end = min(last, day + timedelta(days=6))
            s = datetime.combine(day, datetime.min.time(), self.zone)
            busy = self._busy(s, datetime.combine(block_end, datetime.max.time(), self.zone))
            while day <= block_end and len(out) < n:
                out += [
                    t
                    for t in free_times.day_starts(
                        day,
                        self.kind,
                        self.hours,
                        busy,
                        earliest=max(self._earliest(now), after),
                        step_min=self.server.step_min,
                        zone=self.zone,
                        skip_uid=skip_uid,
                    )
                    if t not in out
                ][: n - len(out)]
                day += timedelta(days=1)
        return out

    def _nearest(self, wanted: datetime, now: datetime, skip_uid: str = "") -> list[datetime]:
        same_day = self._free_on(wanted.date(), now, skip_uid=skip_uid)
        later = self._next_free(wanted + timedelta(minutes=1), now, 2, skip_uid)
        return free_times.nearest(wanted, [*same_day, *later], 2)

    def _offer(self, times: list[datetime], lead: str) -> Step:
        self.offered = times
        if not times:
            self.asked = "time"
            return Step(
                f"{lead} I have no free time in the next {self.server.days_ahead} days; "
                "I'm sorry. Shall I take a message for the team?"
            )
        self.asked = "which"
        if len({t.date() for t in times}) == 1:
            said = f"on {spoken_day(times[0].date())} at " + or_list(
                [spoken_time(t) for t in times]
            )
        else:
            said = or_list([spoken_when(t) for t in times])
        return Step(
            f"{lead} I can offer {said}. Which would suit you?".strip(),
            ToolCall(
                "calendar.free",
                {"kind": self.kind.name if self.kind else ""},
                "ok",
                detail=", ".join(t.isoformat() for t in times),
            ),
        )

    def _offer_day(self, now: datetime, wanted: Wanted) -> Step:
        if self.day is None:
            if self.action == "free" or wanted.part is not None:
                return self._offer(free_times.spread(self._next_free(now, now, 6)), "")
            self.asked = "time"
            assert self.kind is not None
            return Step(f"Which day and time would suit you for the {self.kind.name}?")
        day = self.day
        lead = ""
        if not self.hours.ranges(day):
            lead = f"We're closed on {spoken_day(day)}."
        elif day > now.date() + timedelta(days=self.server.days_ahead):
            lead = f"I can only book up to {self.server.days_ahead} days ahead."
        free = self._free_on(day, now, wanted.part) if not lead else []
        if free:
            return self._offer(free_times.spread(free), "")
        if not lead:
            lead = f"{spoken_day(day)} is fully booked."
        after = datetime.combine(day, datetime.min.time(), self.zone)
        return self._offer(free_times.spread(self._next_free(after, now, 6)), lead)

    # -- booking ------------------------------------------------------------------------------

    def _propose_book(self, start: datetime, now: datetime, name: str, phone: str) -> Step:
        assert self.kind is not None
        why = self._not_bookable(start, now)
        if why:
            return self._offer(self._nearest(start, now), why)
        busy = self._busy(start, start)
        if not free_times.fits(start, self.kind, self.hours, busy, earliest=self._earliest(now)):
            return self._offer(self._nearest(start, now), f"{spoken_when(start)} is taken.")
        self.pending = Pending("book", self.kind, start)
        self.offered = []
        if not name:
            self.asked = "name"
            return Step(f"{spoken_when(start)} is free. Under which name shall I book it?")
        return self._read_back(name)

    def _ask_name(self) -> Step:
        self.asked = "name"
        return Step("Under which name shall I book it?")

    def _not_bookable(self, start: datetime, now: datetime) -> str:
        if start < self._earliest(now):
            return f"{spoken_when(start)} is too soon, I'm afraid."
        if start.date() > now.date() + timedelta(days=self.server.days_ahead):
            return f"I can only book up to {self.server.days_ahead} days ahead."
        if not self.hours.ranges(start.date()):
            return f"We're closed on {spoken_day(start.date())}."
        assert self.kind is not None
        if not free_times.fits(start, self.kind, self.hours, [], earliest=start):
            return f"{spoken_when(start)} is outside our opening hours."
        return ""

    def _read_back(self, name: str) -> Step:
        p = self.pending
        assert p is not None and p.start is not None
        self.asked = "confirm"
        return Step(
            f"{spoken_when(p.start)}, {p.kind.spoken_length()}, for a {p.kind.name}, under the "
            f"name {name}: shall I book it?"
        )

    def _question(self) -> str:
        p = self.pending
        assert p is not None and p.start is not None
        if p.action == "cancel":
            return f"shall I cancel your {p.kind.name} on {spoken_when(p.start)}?"
        if p.action == "move":
            return f"shall I move your {p.kind.name} to {spoken_when(p.start)}?"
        return f"shall I book the {p.kind.name} on {spoken_when(p.start)}?"

    def _declined(self) -> Step:
        p = self.pending
        assert p is not None
        self.pending, self.asked = None, "time"
        if p.action == "cancel":
            self.action = ""
            return Step("All right, your appointment stays as it is.")
        return Step(
            "All right, I haven't changed anything. Which day and time would suit you instead?"
        )

    # -- the caller's own appointment ---------------------------------------------------------

    def _find_own(self, now: datetime, name: str, phone: str) -> Booked | None:
        """The caller's next appointment: by caller id, else by their full name."""
        if self.booked is not None:
            return self.calendar.get(self.booked.uid)
        found = [
            b
            for b in self.calendar.events(now, now + timedelta(days=self.server.days_ahead))
            if b.kind and b.start > now
        ]
        mine = digits(phone)
        by_phone = [b for b in found if mine and same_number(digits(b.phone), mine)]
        if by_phone:
            return by_phone[0]
        full = " ".join(name.lower().split())
        if len(full.split()) >= 2:
            return next((b for b in found if " ".join(b.who.lower().split()) == full), None)
        return None

    def _own(
        self,
        text: str,
        wanted: Wanted,
        picked: datetime | None,
        now: datetime,
        name: str,
        phone: str,
    ) -> Step:
        existing = self.pending.existing if self.pending else None
        existing = existing or self._find_own(now, name, phone)
        verb = "move" if self.action == "move" else "cancel"
        if existing is None:
            if not name:
                self.asked = "name"
                return Step(f"Under which name is the appointment you'd like to {verb}?")
            self.action, self.asked = "", ""
            return Step(
                not_found_reply(name), ToolCall(f"calendar.{verb}", {"who": name}, "not found")
            )
        kind = self.kind = self._type_of(existing)
        if self.action == "cancel":
            self.pending, self.asked = Pending("cancel", kind, existing.start, existing), "confirm"
            return Step(f"Your {kind.name} is on {spoken_when(existing.start)}. Shall I cancel it?")
        if wanted.day is not None and wanted.day != existing.start.date():
            self.day = wanted.day
        elif wanted.day is None and self.day == existing.start.date() and not self.offered:
            self.day = None  # "move it" alone: the day of the old appointment is no new day
        start = picked or self._start(wanted)
        self.pending = Pending("move", kind, None, existing)
        if start is None:
            if self.day is None:
                self.asked = "time"
                return Step(
                    f"Your {kind.name} is on {spoken_when(existing.start)}. To which day "
                    "and time shall I move it?"
                )
            return self._offer_day(now, Wanted(day=self.day, part=wanted.part))
        why = self._not_bookable(start, now)
        busy = self._busy(start, start)
        if why or not free_times.fits(
            start, kind, self.hours, busy, earliest=self._earliest(now), skip_uid=existing.uid
        ):
            return self._offer(
                self._nearest(start, now, existing.uid), why or f"{spoken_when(start)} is taken."
            )
        self.pending.start, self.asked, self.offered = start, "confirm", []
        return Step(
            f"Move your {kind.name} from {spoken_when(existing.start)} to "
            f"{spoken_when(start)}: shall I move it?"
        )

    # -- writing ------------------------------------------------------------------------------

    def _commit(self, now: datetime, name: str, phone: str) -> Step:
        p = self.pending
        assert p is not None and p.start is not None
        who = (p.existing.who if p.existing else name) or name
        args = {
            "action": p.action,
            "kind": p.kind.name,
            "start": p.start.isoformat(),
            "who": who,
            "phone": phone,
            "uid": p.existing.uid if p.existing else "",
        }
        call_name = f"calendar.{p.action}"
        try:
            valid = BookArgs.model_validate({**args, "start": p.start})
        except ValidationError as err:
            bad = err.errors()[0]["loc"][0]
            _LOGGER.warning("calendar %s refused: invalid %s", p.action, bad)
            self.asked = "name" if bad == "who" else "time"
            ask = (
                "Under which name shall I book it?"
                if bad == "who"
                else ("Which day and time would suit you?")
            )
            return Step(ask, ToolCall(call_name, args, "invalid", detail=str(bad)))
        if p.action == "cancel":
            assert p.existing is not None
            self.calendar.cancel(p.existing.uid)
            self.pending, self.asked = None, ""
            self.done += DONE_WORDS["cancel"]
            self.results.append("cancel")
            self.booked = None
            self.action = ""
            return Step(
                f"Your {p.kind.name} on {spoken_when(p.existing.start)} is cancelled.",
                ToolCall(call_name, args, "ok", appointment=p.existing),
            )
        end = p.start + timedelta(minutes=p.kind.duration_min)
        busy = self._busy(p.start, end)
        skip = p.existing.uid if p.existing else ""
        if not free_times.fits(
            p.start, p.kind, self.hours, busy, earliest=self._earliest(now), skip_uid=skip
        ):
            self.pending = Pending(p.action, p.kind, None, p.existing)
            step = self._offer(
                self._nearest(p.start, now, skip),
                f"I'm sorry, {spoken_when(p.start)} has just been taken.",
            )
            step.call = ToolCall(
                call_name, args, "conflict", detail=step.call.detail if step.call else ""
            )
            return step
        if p.existing is not None:
            got = self.calendar.move(p.existing.uid, valid.start, end)
            said = f"Done: your {p.kind.name} is now on {spoken_when(got.start)}."
        else:
            got = self.calendar.book(
                p.kind.name,
                valid.start,
                end,
                who=valid.who,
                phone=valid.phone,
                buffer_min=p.kind.buffer_min,
                note=f"booked by voicebox ({self.assistant})",
            )
            said = (
                f"Your {p.kind.name} is booked for {spoken_when(got.start)}, under the name "
                f"{got.who or valid.who}."
            )
        self.done += DONE_WORDS[p.action]
        self.results.append(p.action)
        self.booked, self.action, self.day = got, "", None
        self.pending, self.asked = None, ""
        return Step(said, ToolCall(call_name, args, "ok", appointment=got))

    def _failed(self, err: CalendarError, text: str) -> Step:
        p = self.pending
        what = {"book": "book", "move": "move", "cancel": "cancel"}.get(self.action, "book")
        when = f" {spoken_when(p.start)}" if p and p.start else ""
        kind = p.kind.name if p else self.kind.name if self.kind else "appointment"
        request = f"Calendar request ({what} {kind}{when}): {text}"[:300]
        self.pending, self.asked = None, ""
        return Step(
            "I'm sorry, I can't reach our calendar right now.",
            ToolCall(f"calendar.{what}", {"kind": kind}, "failed", detail=err.kind),
            fallback=request,
        )


def not_found_reply(name: str) -> str:
    return (
        f"I can't find an upcoming appointment under the name {name} for this number. "
        "Could you tell me the name it was booked under?"
    )
