"""The calendar tool in a conversation: the dialogue answers in an assistant given the tool,
its calls are events (the store keeps the confirmed writes, the report counts them), a failing
calendar becomes a ticket the caller hears the number of, and the config refuses a calendar
tool with nothing to book in. The engine runs on fakes; the calendar is in memory."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fakes import ScriptedBrain
from fakes.calendar import FakeCalendar
from fakes.engine import fake_engine

from appliance.config import Config, ReportSettings, parse_config
from appliance.errors import ConfigError
from appliance.store import Store
from appliance.store.report import build

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=ZONE)
CALENDAR = {"url": "http://127.0.0.1:1/", "appointments": [{"name": "consultation"}]}
HOURS = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def _cfg(tools: list[str], calendar: dict[str, Any] | None = CALENDAR,
         hours: dict[str, str] | None = HOURS) -> Config:  # fmt: skip
    team: dict[str, Any] = {"entry": "scheduling", "timezone": "Europe/Berlin"}
    if hours is not None:
        team["hours"] = hours
    return parse_config({
        "team": team,
        "assistants": [{"name": "scheduling", "title": "Scheduling", "tools": tools,
                        "system_prompt": "You book appointments."}],
        "integrations": {"calendar": calendar} if calendar else {},
    })  # fmt: skip


def _conv(tmp_path: Path, cal: FakeCalendar) -> tuple[Any, Store]:
    store = Store(tmp_path / "voicebox.db")
    engine = fake_engine(_cfg(["calendar"]), ScriptedBrain(["Happy to help."]),
                         listeners=[store.record])  # fmt: skip
    engine.calendar = cal
    engine.desk = store
    conv = engine.new_conversation(channel="text", caller="sip:+4930111@pbx")
    conv.now = lambda: NOW
    conv.start()
    return conv, store


def test_a_booking_in_a_conversation_is_recorded_and_reported(tmp_path: Path) -> None:
    cal = FakeCalendar()
    conv, store = _conv(tmp_path, cal)
    r1 = conv.handle("I'd like to book a consultation next Tuesday at 10")
    assert "Under which name" in r1.reply and not r1.tools
    r2 = conv.handle("Anna Schmidt")
    assert r2.slots["name"] == "Anna Schmidt" and "shall I book it?" in r2.reply
    r3 = conv.handle("yes, please")
    assert r3.tools == [{"tool": "calendar.book", "result": "ok", "args": {
        "action": "book", "kind": "consultation", "start": "2026-12-08T10:00:00+01:00",
        "who": "Anna Schmidt", "phone": "+4930111", "uid": ""}}]  # fmt: skip
    (booked,) = cal.items.values()
    assert booked.phone == "+4930111"
    r4 = conv.handle("what's the weather like")  # not calendar talk: the model answers
    assert r4.reply == "Happy to help." and not r4.tools
    conv.end()
    rows = store.query("SELECT action, kind, starts_at, who, uid FROM appointments")
    assert rows == [{"action": "book", "kind": "consultation", "who": "Anna Schmidt",
                     "starts_at": "2026-12-08T10:00:00+01:00", "uid": booked.uid}]  # fmt: skip
    report = build(store._db, ReportSettings())
    assert report["outcomes"] == {"appointment booked": 1}
    store.close()


def test_a_failing_calendar_becomes_a_ticket_with_its_number_told(tmp_path: Path) -> None:
    cal = FakeCalendar()
    conv, store = _conv(tmp_path, cal)
    conv.handle("book a consultation next Tuesday at 10")
    conv.handle("Anna Schmidt")
    cal.fail = "timeout"
    r = conv.handle("yes")
    assert "can't reach our calendar" in r.reply
    (ticket,) = store.tickets()
    assert "ticket number " + " ".join(str(ticket["number"])) in r.reply
    assert "consultation" in ticket["summary"] and ticket["who"] == "Anna Schmidt"
    assert r.tools[0]["result"] == "failed" and not cal.items
    conv.end()
    assert store.query("SELECT COUNT(*) AS n FROM appointments") == [{"n": 0}]
    store.close()


@pytest.mark.parametrize(
    ("calendar", "hours", "said"),
    [
        (None, HOURS, "the calendar tool needs integrations.calendar"),
        (CALENDAR, None, "the calendar tool needs team.hours"),
        ({**CALENDAR, "appointments": [{"name": "consultation", "assistants": ["sales"]}]},
         HOURS, "unknown assistant 'sales'"),
    ],
)  # fmt: skip
def test_a_calendar_tool_with_nothing_to_book_in_is_a_config_error(
    calendar: dict[str, Any] | None, hours: dict[str, str] | None, said: str
) -> None:
    with pytest.raises(ConfigError) as err:
        _cfg(["calendar"], calendar, hours)
    assert any(said in p for p in err.value.problems), err.value.problems


def test_hours_that_make_no_sense_are_refused() -> None:
    for bad in ({"mon": "17:00-09:00"}, {"mon": "9 to 5"}, {}):
        with pytest.raises(ConfigError):
            _cfg(["calendar"], CALENDAR, bad)
