"""Days and times as the box says them to a caller: "Tuesday the 8th of December at 10 am"."""

from __future__ import annotations

from datetime import date, datetime


def _ordinal_day(d: int) -> str:
    suffix = "th" if 11 <= d % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}{suffix}"


def spoken_time(at: datetime) -> str:
    if at.hour == 12 and at.minute == 0:
        return "12 noon"
    h = at.hour % 12 or 12
    ampm = "am" if at.hour < 12 else "pm"
    return f"{h} {ampm}" if at.minute == 0 else f"{h}:{at.minute:02d} {ampm}"


def spoken_day(day: date) -> str:
    return f"{day.strftime('%A')} the {_ordinal_day(day.day)} of {day.strftime('%B')}"


def spoken_when(at: datetime) -> str:
    """Tuesday the 8th of December at 10 am."""
    return f"{spoken_day(at.date())} at {spoken_time(at)}"


def or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
