"""The office calendar (CalDAV) under `integrations.calendar`, its appointment types, and the
office's hours (`team.hours`), all in the office's time zone (`team.timezone`).

Bookings are written to the CalDAV server, which stays the one record of them: the office sees
them in the calendar it already uses, and the box reads free and busy times from it again
before every write (appliance/tools/booking.py).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator

from appliance.config.strict import StrictModel


def office_zone(name: str) -> tzinfo:
    """The office's time zone (team.timezone, validated); empty: the box's local zone."""
    if name:
        return ZoneInfo(name)
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)-([01]?\d|2[0-4]):([0-5]\d)$")


def parse_ranges(text: str) -> list[tuple[time, time]]:
    """'09:00-12:00, 13:00-17:00' -> [(9:00, 12:00), (13:00, 17:00)]; '' or 'closed' -> []."""
    text = text.strip().lower()
    if text in ("", "closed"):
        return []
    out = []
    for part in text.split(","):
        m = _RANGE.match(part.strip())
        if m is None:
            raise ValueError(f"not an opening time {part.strip()!r} (write e.g. 09:00-17:00)")
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        start, end = time(h1, m1), (time(23, 59) if h2 == 24 else time(h2, m2))
        if end <= start:
            raise ValueError(f"{part.strip()!r} ends before it starts")
        out.append((start, end))
    return sorted(out)


class Hours(StrictModel):
    """When the office is open: per weekday one or more ranges ('09:00-17:00', or
    '09:00-12:00, 13:00-17:00'; empty or 'closed': closed), and closed days (holidays)."""

    mon: str = ""
    tue: str = ""
    wed: str = ""
    thu: str = ""
    fri: str = ""
    sat: str = ""
    sun: str = ""
    closed_days: list[date] = Field(default_factory=list)
    """Days the office is closed although the weekday is open, e.g. 2026-12-25."""

    @field_validator(*DAYS)
    @classmethod
    def _ranges(cls, value: str) -> str:
        parse_ranges(value)
        return value

    @model_validator(mode="after")
    def _some_day_open(self) -> Hours:
        if not any(parse_ranges(getattr(self, d)) for d in DAYS):
            raise ValueError("the office is never open: give at least one weekday its hours")
        return self

    def ranges(self, day: date) -> list[tuple[time, time]]:
        """The opening ranges of `day` (none on a closed day)."""
        if day in self.closed_days:
            return []
        return parse_ranges(getattr(self, DAYS[day.weekday()]))

    def is_open(self, at: datetime) -> bool:
        return any(s <= at.time() < e for s, e in self.ranges(at.date()))

    def next_open(self, at: datetime) -> datetime | None:
        """The next moment the office opens after `at` (within two weeks), in at's zone."""
        for ahead in range(15):
            day = at.date() + timedelta(days=ahead)
            for start, _ in self.ranges(day):
                when = datetime.combine(day, start, at.tzinfo)
                if when > at:
                    return when
        return None


class AppointmentType(StrictModel):
    """One kind of appointment callers can book."""

    name: str = Field(pattern=r"^[a-z][a-z0-9 _-]{0,39}$")
    """What the office calls it, as said to the caller, e.g. consultation, technician visit."""
    duration_min: int = Field(default=60, ge=5, le=600)
    """How long it takes."""
    buffer_min: int = Field(default=0, ge=0, le=240)
    """Time kept free after it (travel, tidying): no other appointment starts in it."""
    assistants: list[str] = Field(default_factory=list)
    """The assistants that offer it (empty: every assistant given the calendar tool)."""
    words: list[str] = Field(default_factory=list)
    """Other words callers use for it, e.g. [visit, repair, come by]."""

    def spoken_length(self) -> str:
        h, m = divmod(self.duration_min, 60)
        hours = {1: "one hour", 2: "two hours"}.get(h, f"{h} hours") if h else ""
        mins = f"{m} minutes" if m else ""
        return " and ".join(x for x in (hours, mins) if x)


class Reminders(StrictModel):
    """Reminder calls (opt-in): the day before an appointment the box booked, its assistant
    calls the number the caller booked from, reminds them, and moves or cancels it if asked."""

    enabled: bool = False
    """Off unless the office turns it on (callers are called back only then)."""
    office: str = Field(default="", max_length=60)
    """The office's name as the call says it ("Hello, this is ... with a reminder"); empty:
    "the office"."""
    assistant: str = "scheduling"
    """Who makes the calls: an assistant given the calendar tool."""
    days_before: int = Field(default=1, ge=1, le=7)
    """How many days before the appointment the call is made."""
    call_hours: str = "10:00-18:00"
    """When the box may call (the office's time zone), e.g. 10:00-12:00, 14:00-18:00."""
    dial: str = Field(default="", pattern=r"^$|^sips?:\S*\{number\}\S*$")
    """How a number is dialled: a SIP address with {number}, e.g. sip:{number}@192.168.1.10;
    empty: through the first SIP account's registrar."""
    attempts: int = Field(default=2, ge=1, le=5)
    """Calls per appointment when nobody answers."""
    retry_min: int = Field(default=60, ge=5, le=720)
    """Minutes between two attempts."""

    @field_validator("call_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if not parse_ranges(value):
            raise ValueError("give at least one range, e.g. 10:00-18:00")
        return value

    def may_call(self, at: datetime) -> bool:
        return any(s <= at.time() < e for s, e in parse_ranges(self.call_hours))


class CalendarServer(StrictModel):
    """The office's CalDAV calendar (Radicale, Nextcloud, Baikal, a NAS ...) on the LAN."""

    url: str = Field(pattern=r"^https?://[^\s]+$")
    """The server's CalDAV address, e.g. http://192.168.1.10:5232/ (the principal is found)."""
    username: str = ""
    """Login user; empty: no login."""
    password: SecretStr = SecretStr("")
    """Login password (never logged)."""
    calendar: str = ""
    """The calendar's name (display name, or the last part of its address); empty: the
    account's first calendar."""
    timeout_s: float = Field(default=8.0, gt=0.0, le=60.0)
    """How long one request may take before the caller hears the apology and the fallback."""
    appointments: list[AppointmentType] = Field(min_length=1)
    """The kinds of appointment callers can book."""
    days_ahead: int = Field(default=60, ge=1, le=365)
    """How far ahead a caller may book."""
    step_min: int = Field(default=30, ge=5, le=120)
    """Start times are offered on this grid (minutes past the opening time)."""
    notice_min: int = Field(default=60, ge=0, le=10080)
    """The earliest booking is this long after now."""
    reminders: Reminders = Field(default_factory=Reminders)
    """Reminder calls the day before (off by default)."""

    @field_validator("appointments")
    @classmethod
    def _unique(cls, v: list[AppointmentType]) -> list[AppointmentType]:
        names = [a.name for a in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"appointment type named twice: {', '.join(dup)}")
        return v

    def offered_by(self, assistant: str) -> list[AppointmentType]:
        return [a for a in self.appointments if not a.assistants or assistant in a.assistants]
