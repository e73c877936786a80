"""Reminder calls: which appointments are called about and when (ReminderCalls on a real SQLite
store and an in-memory calendar, a recording dialler), what the call says and does (the
calendar dialogue after a reminder: keep, move, cancel), and the config's checks."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fakes import ScriptedBrain
from fakes.calendar import FakeCalendar
from fakes.engine import fake_engine

from appliance.config import Config, parse_config
from appliance.daemon.outbound import CallRefused
from appliance.errors import ConfigError
from appliance.store import Store
from appliance.tools.calendar_client import Booked
from appliance.tools.reminders import CallResult, ReminderCalls, dial_uri, state_of

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 3, 11, 0, tzinfo=ZONE)  # a Thursday
TOMORROW_10 = datetime(2026, 12, 4, 10, 0, tzinfo=ZONE)
HOURS = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def _cfg(reminders: dict[str, Any] | None = None, *, accounts: bool = True,
         tools: tuple[str, ...] = ("calendar",)) -> Config:  # fmt: skip
    rem = {"enabled": True, "office": "Brightline", **(reminders or {})}
    data: dict[str, Any] = {
        "team": {"entry": "scheduling", "timezone": "Europe/Berlin", "hours": HOURS},
        "assistants": [{"name": "scheduling", "title": "Scheduling", "tools": list(tools),
                        "system_prompt": "You book appointments."}],
        "integrations": {"calendar": {"url": "http://127.0.0.1:1/", "reminders": rem,
                                      "appointments": [{"name": "consultation"}]}},
    }  # fmt: skip
    if accounts:
        data["sip"] = {"accounts": [{"registrar": "pbx.local", "user": "100", "password": "x"}]}
    return parse_config(data)


class Dialler:
    """Records the calls ReminderCalls places; `refuse` makes the next one fail."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Booked]] = []
        self.done: list[Any] = []
        self.refuse = ""

    def __call__(self, uri: str, assistant: str, b: Booked, done: Any) -> str:
        if self.refuse:
            raise CallRefused(self.refuse)
        self.calls.append((uri, assistant, b))
        self.done.append(done)
        return f"c{len(self.calls)}"


def _desk(tmp_path: Path, cal: FakeCalendar, cfg: Config | None = None,
          at: datetime = NOW) -> tuple[ReminderCalls, Dialler, Store, list[float]]:  # fmt: skip
    store = Store(tmp_path / "voicebox.db")
    dial, clock = Dialler(), [at.timestamp()]
    config = cfg or _cfg()
    desk = ReminderCalls(store, lambda: config, lambda: cal, dial, now=lambda: clock[0])
    return desk, dial, store, clock


def _booked(cal: FakeCalendar, start: datetime = TOMORROW_10, **fields: Any) -> Booked:
    base = {"kind": "consultation", "who": "Anna Schmidt", "phone": "+49 30 111"}
    return cal.add(start, start + timedelta(hours=1), **{**base, **fields})


def test_the_day_before_the_appointment_its_caller_is_called_once(tmp_path: Path) -> None:
    cal = FakeCalendar()
    b = _booked(cal)
    _booked(cal, TOMORROW_10 + timedelta(days=1), phone="+49 30 222")  # the day after: not yet
    cal.add(TOMORROW_10 + timedelta(hours=3), TOMORROW_10 + timedelta(hours=4), who="staff")
    desk, dial, store, _ = _desk(tmp_path, cal)
    assert desk.tick() == b.uid
    assert [(u, a, x.uid) for u, a, x in dial.calls] == [("sip:+4930111@pbx.local", "scheduling",
                                                          b.uid)]  # fmt: skip
    assert store.reminder(b.uid)["state"] == "calling"
    assert desk.tick() == ""  # one reminder call at a time
    dial.done[0](CallResult("conv1", True, 2, ["keep"], "goodbye said"))
    row = store.reminder(b.uid)
    assert (row["state"], row["conversation_id"], row["attempts"]) == ("kept", "conv1", 1)
    assert desk.tick() == "" and len(dial.calls) == 1  # never twice for one appointment


def test_an_unanswered_reminder_is_tried_again_later_then_given_up(tmp_path: Path) -> None:
    cal = FakeCalendar()
    b = _booked(cal)
    desk, dial, store, clock = _desk(tmp_path, cal, _cfg({"attempts": 2, "retry_min": 30}))
    desk.tick()
    dial.done[0](CallResult("c", False, 0, [], "call failed: 480 Temporarily Unavailable"))
    assert store.reminder(b.uid)["state"] == "no answer"
    clock[0] += 29 * 60
    assert desk.tick() == ""  # not before retry_min
    clock[0] += 2 * 60
    assert desk.tick() == b.uid
    dial.done[1](CallResult("c2", False, 0, [], "call failed: 486 Busy Here"))
    clock[0] += 3600
    assert desk.tick() == "" and len(dial.calls) == 2  # attempts used up
    assert store.reminder(b.uid)["attempts"] == 2


def test_a_full_box_is_no_attempt_and_a_refused_call_is_not_recorded(tmp_path: Path) -> None:
    cal = FakeCalendar()
    b = _booked(cal)
    desk, dial, store, clock = _desk(tmp_path, cal, _cfg({"attempts": 1}))
    dial.refuse = "call limit reached: 4 of 4 calls in progress"
    assert desk.tick() == "" and store.reminder(b.uid) is None and desk.active == ""
    dial.refuse = ""
    desk.tick()
    dial.done[0](CallResult("c", False, 0, [], "call failed: call limit reached"))
    row = store.reminder(b.uid)
    assert (row["state"], row["attempts"]) == ("busy", 0)
    clock[0] += 301
    assert desk.tick() == b.uid  # its one attempt is still there


def test_no_calls_outside_calling_hours_when_off_or_without_a_number(tmp_path: Path) -> None:
    cal = FakeCalendar()
    _booked(cal, phone="")
    _booked(cal, TOMORROW_10 + timedelta(hours=2), kind="")  # the staff's own entry
    desk, dial, _, _ = _desk(tmp_path, cal)
    assert desk.tick() == ""
    b = _booked(cal, TOMORROW_10 + timedelta(hours=4))
    evening = NOW.replace(hour=19)
    desk, dial, _, _ = _desk(tmp_path / "x", cal, at=evening)
    assert desk.tick() == ""  # call_hours 10:00-18:00
    desk, dial, _, _ = _desk(tmp_path / "y", cal, _cfg({"enabled": False}))
    assert desk.tick() == "" and not dial.calls
    desk, dial, _, _ = _desk(tmp_path / "z", cal)
    assert desk.tick() == b.uid


def test_a_calendar_that_is_down_makes_no_call_and_no_error(tmp_path: Path) -> None:
    cal = FakeCalendar()
    _booked(cal)
    desk, dial, store, _ = _desk(tmp_path, cal)
    cal.fail = "down"
    assert desk.tick() == "" and not dial.calls and store.reminders() == []
    cal.fail = ""
    assert desk.tick() != ""


def test_how_a_number_is_dialled_and_what_a_call_achieved() -> None:
    rem = _cfg().integrations.calendar
    assert rem is not None
    assert dial_uri("203", rem.reminders, _cfg()) == "sip:203@pbx.local"
    pattern = _cfg({"dial": "sip:{number}@10.0.0.1:5062"}, accounts=False)
    srv = pattern.integrations.calendar
    assert srv is not None and dial_uri("203", srv.reminders, pattern) == "sip:203@10.0.0.1:5062"
    assert state_of(CallResult("c", True, 3, ["keep", "move"], "")) == "moved"
    assert state_of(CallResult("c", True, 2, ["cancel"], "")) == "cancelled"
    assert state_of(CallResult("c", True, 2, [], "caller hung up")) == "no decision"
    assert state_of(CallResult("c", False, 0, [], "call failed")) == "no answer"


def _problems(reminders: dict[str, Any] | None = None, **kw: Any) -> str:
    with pytest.raises(ConfigError) as err:
        _cfg(reminders, **kw)
    return " | ".join(err.value.problems)


def test_the_config_refuses_reminders_nobody_can_make() -> None:
    assert "no SIP account to call through" in _problems(accounts=False)
    assert "'scheduling' is not given the calendar tool" in _problems(tools=())
    assert "unknown assistant 'billing'" in _problems({"assistant": "billing"})
    assert "call_hours" in _problems({"call_hours": "18:00-10:00"})
    assert "dial" in _problems({"dial": "203@pbx"})
    assert _cfg({"enabled": False}, accounts=False).integrations.calendar is not None


# -- the reminder call's conversation ----------------------------------------------------------


def _reminder(tmp_path: Path, cal: FakeCalendar, b: Booked) -> tuple[Any, Store]:
    store = Store(tmp_path / "voicebox.db")
    engine = fake_engine(_cfg(), ScriptedBrain(["Happy to help."]), listeners=[store.record])
    engine.calendar = cal
    engine.desk = store
    conv = engine.new_conversation(channel="sip", assistant="scheduling",
                                   caller="sip:+4930111@pbx.local")  # fmt: skip
    conv.now = lambda: NOW
    conv.remind(b)
    return conv, store


def test_a_reminder_call_opens_with_the_appointment_and_a_yes_keeps_it(tmp_path: Path) -> None:
    cal = FakeCalendar()
    b = _booked(cal)
    conv, _ = _reminder(tmp_path, cal, b)
    opening = conv.start()
    assert opening.startswith("Hello, this is Brightline with a reminder of your consultation")
    assert "Friday the 4th of December at 10 am" in opening and "Anna Schmidt" in opening
    r = conv.handle("Yes, I'll be there.")
    assert [t["tool"] for t in r.tools] == ["calendar.keep"] and conv.closing
    assert "Goodbye" in r.reply and b.uid in cal.items and cal.writes == 0


def test_a_reminded_caller_who_cannot_come_cancels_after_a_read_back(tmp_path: Path) -> None:
    cal = FakeCalendar()
    b = _booked(cal)
    conv, store = _reminder(tmp_path, cal, b)
    conv.start()
    r1 = conv.handle("No, I'm afraid I can't make it.")
    assert "Shall I cancel it?" in r1.reply and b.uid in cal.items
    r2 = conv.handle("Yes please.")
    assert [t["tool"] for t in r2.tools] == ["calendar.cancel"] and b.uid not in cal.items
    assert conv.booking.results == ["cancel"] and not conv.closing
    conv.end()
    assert store.query("SELECT action FROM appointments") == [{"action": "cancel"}]


def test_a_reminded_caller_moves_it_to_another_day(tmp_path: Path) -> None:
    cal = FakeCalendar()
    b = _booked(cal)
    conv, _ = _reminder(tmp_path, cal, b)
    conv.start()
    r1 = conv.handle("Could we move it to Tuesday at 11 instead?")
    assert "to Tuesday the 8th of December at 11 am: shall I move it?" in r1.reply, r1.reply
    r2 = conv.handle("Yes.")
    assert [t["tool"] for t in r2.tools] == ["calendar.move"]
    assert cal.items[b.uid].start == datetime(2026, 12, 8, 11, 0, tzinfo=ZONE)
    assert conv.booking.results == ["move"]
    r3 = conv.handle("Hmm, what?")  # no longer a reminder question: the model answers
    assert r3.reply == "Happy to help."
