"""Free times: where an appointment of a type fits between the office's hours and the busy
times on the calendar (pure: the calendar's events are read by the caller of these functions).

An appointment fits when it starts no earlier than the notice allows, lies inside one opening
range, and its time plus its buffer overlaps no event (nor another appointment's buffer).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from appliance.config.calendar import AppointmentType, Hours
from appliance.tools.calendar_client import Booked


def fits(
    start: datetime,
    kind: AppointmentType,
    hours: Hours,
    busy: Iterable[Booked],
    *,
    earliest: datetime,
    skip_uid: str = "",
) -> bool:
    """The appointment can start at `start` (aware, in the office's zone)."""
    if start < earliest:
        return False
    end = start + timedelta(minutes=kind.duration_min)
    inside = any(
        datetime.combine(start.date(), s, start.tzinfo) <= start
        and end <= datetime.combine(start.date(), e, start.tzinfo)
        for s, e in hours.ranges(start.date())
    )
    if not inside:
        return False
    until = end + timedelta(minutes=kind.buffer_min)
    return not any(b.uid != skip_uid and b.start < until and start < b.busy_until for b in busy)


def day_starts(
    day: date,
    kind: AppointmentType,
    hours: Hours,
    busy: list[Booked],
    *,
    earliest: datetime,
    step_min: int,
    zone: object,
    part: tuple[time, time] | None = None,
    skip_uid: str = "",
) -> list[datetime]:
    """Every free start on `day` (on the step grid from each opening), within `part`."""
    out = []
    for s, e in hours.ranges(day):
        at = datetime.combine(day, s, zone)  # type: ignore[arg-type]
        close = datetime.combine(day, e, zone)  # type: ignore[arg-type]
        while at + timedelta(minutes=kind.duration_min) <= close:
            in_part = part is None or part[0] <= at.time() < part[1]
            if in_part and fits(at, kind, hours, busy, earliest=earliest, skip_uid=skip_uid):
                out.append(at)
            at += timedelta(minutes=step_min)
    return out


def spread(starts: list[datetime], n: int = 3) -> list[datetime]:
    """Up to n starts spread over the list (a caller hears 9, 11 and 2, not 9, 9:30, 10)."""
    if len(starts) <= n:
        return starts
    step = (len(starts) - 1) / (n - 1)
    return [starts[round(i * step)] for i in range(n)]


def nearest(wanted: datetime, candidates: list[datetime], n: int = 2) -> list[datetime]:
    """The n candidates closest to the wanted time, in time order."""
    unique = set(candidates)
    return sorted(sorted(unique, key=lambda c: abs((c - wanted).total_seconds()))[:n])
