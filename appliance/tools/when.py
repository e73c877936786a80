"""When a caller means: the day and time in their words, resolved against the office's clock.

Spoken times are found here ("at ten", "10:30", "2 pm", "half past nine", "noon", "in the
afternoon"); the day is found by our own rules for what callers say most ("today", "tomorrow",
"the day after tomorrow", "next Tuesday", "in two weeks", "on the 8th") and by `dateparser`
(future dates preferred) for the rest ("December 8", "8/12"). The time is taken out before the
date parser sees the words: dateparser reads "at 10" as a day or a year. An hour without am/pm
is an office hour: 1 to 7 mean the afternoon.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

NUMBERS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ]
    )
}
_NUM = r"(?:\d{1,2}|" + "|".join(NUMBERS) + r")"
_TIME = re.compile(
    rf"\b(?:at\s+|around\s+|about\s+|by\s+)?(?:(half\s+past|quarter\s+past|quarter\s+to)\s+)?"
    rf"({_NUM})(?=\W|$|[ap]\.?m)(?:[:.](\d{{2}}))?(?:\s*(o'?clock))?(?:\s*(a\.?m\.?|p\.?m\.?)(?=\W|$))?"
    rf"(?:\s+(thirty|fifteen|forty[- ]five))?",
    re.IGNORECASE,
)
_NOON = re.compile(r"\b(?:at\s+)?(noon|midday|lunchtime)\b", re.IGNORECASE)
PARTS = {
    "morning": (time(8, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(21, 0)),
}
_PART = re.compile(r"\b(morning|afternoon|evening)\b", re.IGNORECASE)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(
    r"\b(?:(next|this|coming|on)\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"(?:\s+(after\s+next))?\b",
    re.IGNORECASE,
)
_IN = re.compile(rf"\bin\s+(a|an|{_NUM})\s+(day|week|month)s?\b", re.IGNORECASE)
_ORDINAL = re.compile(
    r"\b(?:on\s+)?the\s+(\d{1,2})(?:st|nd|rd|th)\b(?!\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|"
    r"jul|aug|sep|oct|nov|dec))",
    re.IGNORECASE,
)
_MONTHISH = re.compile(
    r"\b(jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\b\d{1,2}/\d{1,2}\b|"
    r"\bmay\s+\d|\d(st|nd|rd|th)?\s+(of\s+)?may\b",  # "may I" is no month
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Wanted:
    """What the caller asked for: a day, a time of day or a part of the day (each optional)."""

    day: date | None = None
    at: time | None = None
    part: tuple[time, time] | None = None

    @property
    def empty(self) -> bool:
        return self.day is None and self.at is None and self.part is None

    def start(self) -> datetime | None:
        """The exact start asked for (a day and a time), naive; else None."""
        if self.day is None or self.at is None:
            return None
        return datetime.combine(self.day, self.at)


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBERS[word.lower()]


def find_time(text: str) -> tuple[time | None, str]:
    """The time of day in `text` and the text without it."""
    noon = _NOON.search(text)
    if noon:
        return time(12, 0), text[: noon.start()] + text[noon.end() :]
    for m in _TIME.finditer(text):
        prefix, hour_word, minutes, oclock, ampm, spoken_minutes = m.groups()
        said_at = m.group(0).lower().lstrip().startswith(("at", "around", "about", "by"))
        if not (said_at or minutes or oclock or ampm or prefix or spoken_minutes):
            continue  # a bare number ("two weeks", "the 8th") is no time
        hour = _number(hour_word)
        if hour > 23 or (minutes and int(minutes) > 59):
            continue
        minute = int(minutes) if minutes else 0
        if spoken_minutes:
            minute = {"thirty": 30, "fifteen": 15}.get(spoken_minutes.lower(), 45)
        if prefix:
            p = prefix.lower().split()[0]
            minute = {"half": 30, "quarter": 15}[p] if "past" in prefix.lower() else 45
            if "to" in prefix.lower().split():
                hour -= 1
        if ampm:
            pm = ampm.lower().startswith("p")
            if hour == 12:
                hour = 12 if pm else 0
            elif pm:
                hour += 12
        elif 1 <= hour <= 7:
            hour += 12  # "at three": an office hour, the afternoon
        if hour > 23:
            continue
        return time(hour, minute), text[: m.start()] + " " + text[m.end() :]
    return None, text


def find_day(text: str, today: date) -> date | None:
    """The day in `text` (future dates preferred), or None."""
    low = text.lower()
    if re.search(r"\bday after tomorrow\b", low):
        return today + timedelta(days=2)
    if re.search(r"\btomorrow\b", low):
        return today + timedelta(days=1)
    if re.search(r"\btoday\b|\bthis (morning|afternoon|evening)\b|\btonight\b", low):
        return today
    m = _IN.search(text)
    if m:
        count = 1 if m.group(1).lower() in ("a", "an") else _number(m.group(1))
        unit = m.group(2).lower()
        if unit == "day":
            return today + timedelta(days=count)
        if unit == "week":
            return today + timedelta(weeks=count)
        return _add_months(today, count)
    # a date said outright wins over its weekday ("Tuesday the 19th of January")
    m = _ORDINAL.search(text)
    if m:
        return _next_day_of_month(today, int(m.group(1)))
    if _MONTHISH.search(text):
        found = _dateparser_day(text, today)
        if found is not None:
            return found
    m = _WEEKDAY.search(text)
    if m:
        _, name, after_next = m.groups()
        ahead = (WEEKDAYS.index(name.lower()) - today.weekday()) % 7
        if ahead == 0:
            ahead = 7  # "Tuesday" said on a Tuesday: next week's
        if after_next:
            ahead += 7
        return today + timedelta(days=ahead)
    return None


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _next_day_of_month(today: date, dom: int) -> date | None:
    for months in range(0, 3):
        first = _add_months(today.replace(day=1), months)
        try:
            d = first.replace(day=dom)
        except ValueError:
            continue
        if d >= today:
            return d
    return None


def _dateparser_day(text: str, today: date) -> date | None:
    from dateparser.search import search_dates  # slow to import: only when a month is named

    base = datetime.combine(today, time(12, 0))
    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": base}
    found = search_dates(text, languages=["en"], settings=settings)
    for _, at in found or []:
        if today <= at.date() <= today + timedelta(days=400):
            day: date = at.date()
            return day
    return None


def resolve(text: str, now: datetime) -> Wanted:
    """The day and time `text` asks for, against `now` (the office's clock)."""
    at, rest = find_time(text)
    part_m = _PART.search(rest)
    part = PARTS[part_m.group(1).lower()] if part_m and at is None else None
    # "at ten" alone leaves the day open: the day the caller spoke of (or was offered)
    day = find_day(rest, now.date())
    return Wanted(day=day, at=at, part=part)
