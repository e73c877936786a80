"""team.hours: the assistants are told whether the office is open and when it opens, and a
caller asking for a person while it is closed is offered a message instead of a ringing phone
(appliance/tools/human.py, appliance/tools/transfer.py, appliance/assistants/prompts.py)."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from appliance.assistants.prompts import clock_note
from appliance.config import parse_config
from appliance.config.calendar import Hours
from appliance.tools.human import closed_reply
from appliance.tools.transfer import PersonTransfer

ZONE = ZoneInfo("Europe/Berlin")
HOURS = Hours(mon="08:00-18:00", tue="08:00-18:00", wed="08:00-18:00", thu="08:00-18:00",
              fri="08:00-12:00, 13:00-18:00", sat="09:00-13:00",
              closed_days=[date(2026, 12, 25)])  # fmt: skip


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZONE)


def test_open_and_next_opening() -> None:
    assert HOURS.is_open(at(3, 9)) and not HOURS.is_open(at(3, 18))
    assert not HOURS.is_open(at(4, 12, 30))  # the Friday lunch break
    assert HOURS.next_open(at(4, 12, 30)) == at(4, 13)
    assert HOURS.next_open(at(5, 14)) == at(7, 8)  # Saturday afternoon -> Monday
    assert HOURS.next_open(at(24, 19)) == at(26, 9)  # Christmas is closed: Saturday


def test_the_clock_note_tells_the_assistants_whether_the_office_is_open() -> None:
    assert clock_note(at(3, 9), "en", HOURS).endswith("The office is open now, until 6 pm.")
    closed = clock_note(at(5, 14), "en", HOURS)
    assert closed.endswith("The office is closed now; it opens again on Monday, December 7 at 8 am.")  # noqa: E501
    assert "geschlossen" in clock_note(at(5, 14), "de", HOURS)
    assert "office" not in clock_note(at(5, 14), "en", None)


def test_a_person_request_when_closed_offers_a_message() -> None:
    said = closed_reply(HOURS, at(5, 14), takes_messages=True)
    assert said is not None
    assert "closed right now; we open again on Monday the 7th of December at 8 am" in said
    assert "take a message" in said
    # no message is offered where nobody would record it
    plain = closed_reply(HOURS, at(5, 14), takes_messages=False)
    assert plain is not None and "message" not in plain and "Monday the 7th" in plain
    assert closed_reply(HOURS, at(3, 9), takes_messages=True) is None
    assert closed_reply(None, at(5, 14), takes_messages=True) is None


def _transfer(now: datetime) -> tuple[PersonTransfer, list[Any]]:
    cfg = parse_config({
        "team": {"entry": "frontdesk", "hours": HOURS.model_dump(mode="json"),
                 "human_extensions": [{"name": "office", "extension": "201",
                                       "description": "the office manager"}]},
        "assistants": [{"name": "frontdesk", "title": "Front desk", "system_prompt": "Hi.",
                        "tools": ["handoff", "transfer_to_human", "take_message"]}],
    })  # fmt: skip
    conv = SimpleNamespace(assistant=cfg.assistants[0], now=lambda: now, slots={}, lines=[])
    said: list[str] = []
    loop = SimpleNamespace(conv=conv, say=said.append, hold=False)
    reports: list[Any] = []
    person = PersonTransfer(loop, cfg, None, key=lambda: "call1",  # type: ignore[arg-type]
                            report=reports.append, handover=lambda *a: None)  # fmt: skip
    return person, reports


def test_nobody_is_rung_while_the_office_is_closed() -> None:
    person, reports = _transfer(at(5, 14))
    reply = person.intercept("Can I talk to a real person please?")
    assert reply is not None and "closed right now" in reply
    assert reports == [] and not person.transferring
