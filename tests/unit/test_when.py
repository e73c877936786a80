"""Spoken days and times resolved against the office's clock (appliance/tools/when.py)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from appliance.tools.when import PARTS, resolve

NOW = datetime(2026, 12, 3, 9, 0)  # a Thursday


@pytest.mark.parametrize(
    ("said", "day", "at"),
    [
        ("next Tuesday afternoon", date(2026, 12, 8), None),
        ("the day after tomorrow at ten", date(2026, 12, 5), time(10, 0)),
        ("in two weeks", date(2026, 12, 17), None),
        ("Tuesday at 10", date(2026, 12, 8), time(10, 0)),
        ("tomorrow at 2 pm", date(2026, 12, 4), time(14, 0)),
        ("on Monday at 3", date(2026, 12, 7), time(15, 0)),  # an office hour: the afternoon
        ("friday 11:30", date(2026, 12, 4), time(11, 30)),
        ("December 8 at 10", date(2026, 12, 8), time(10, 0)),  # dateparser: "at 10" is no year
        ("the 8th at 10", date(2026, 12, 8), time(10, 0)),
        ("half past nine on Wednesday", date(2026, 12, 9), time(9, 30)),
        ("Thursday around noon", date(2026, 12, 10), time(12, 0)),  # today is Thursday: next
        ("the 12th of December at 9", date(2026, 12, 12), time(9, 0)),
        ("in a week", date(2026, 12, 10), None),
        ("can we do 3pm instead", None, time(15, 0)),
        # a date said outright wins over its weekday; "may I" is no month
        ("Tuesday the 19th of January at 2 pm", date(2027, 1, 19), time(14, 0)),
        ("may I book next Tuesday at 10", date(2026, 12, 8), time(10, 0)),
        ("on the 5th of May at 9", date(2027, 5, 5), time(9, 0)),
        ("ten thirty would be good", None, time(10, 30)),
    ],
)
def test_spoken_dates_resolve_to_the_future(said: str, day: date | None, at: time | None) -> None:
    wanted = resolve(said, NOW)
    assert (wanted.day, wanted.at) == (day, at)


def test_numbers_that_are_no_time_stay_out() -> None:
    assert resolve("my number is 555 0123", NOW).empty
    assert resolve("we are two people", NOW).empty
    assert resolve("what is your address?", NOW).empty


def test_a_part_of_the_day_is_a_window_not_a_time() -> None:
    wanted = resolve("next Tuesday afternoon", NOW)
    assert wanted.at is None and wanted.part == PARTS["afternoon"]
    assert wanted.start() is None
