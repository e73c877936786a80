"""An in-memory office calendar for the fast tests of the calendar dialogue (the real one,
CalDAV on Radicale, is in tests/integration/test_calendar.py)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime

from appliance.tools.calendar_client import Booked, CalendarError


class FakeCalendar:
    def __init__(self) -> None:
        self.items: dict[str, Booked] = {}
        self.fail: str = ""  # a CalendarError kind every call raises (down, auth, timeout)
        self.writes = 0
        self._ids = itertools.count(1)

    def _check(self) -> None:
        if self.fail:
            raise CalendarError(f"calendar is {self.fail}", self.fail)

    def events(self, start: datetime, end: datetime) -> list[Booked]:
        self._check()
        return sorted((b for b in self.items.values() if b.start < end and start < b.end),
                      key=lambda b: b.start)  # fmt: skip

    def get(self, uid: str) -> Booked | None:
        self._check()
        return self.items.get(uid)

    def add(self, start: datetime, end: datetime, **fields: object) -> Booked:
        """An event put in behind the box's back (the staff, another caller)."""
        b = Booked(uid=f"ev{next(self._ids)}", start=start, end=end, **fields)  # type: ignore[arg-type]
        self.items[b.uid] = b
        return b

    def book(self, kind: str, start: datetime, end: datetime, *, who: str, phone: str,
             buffer_min: int, note: str) -> Booked:  # fmt: skip
        self._check()
        self.writes += 1
        return self.add(start, end, kind=kind, who=who, phone=phone, buffer_min=buffer_min)

    def move(self, uid: str, start: datetime, end: datetime) -> Booked:
        self._check()
        self.writes += 1
        self.items[uid] = replace(self.items[uid], start=start, end=end)
        return self.items[uid]

    def cancel(self, uid: str) -> None:
        self._check()
        self.writes += 1
        del self.items[uid]
