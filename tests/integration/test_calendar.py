"""The calendar tool against a real CalDAV server (Radicale on 127.0.0.1, started here): free
times around the staff's own events, book / move / cancel seen by a second client, a conflict
created behind the box's back between offer and commit, the server going down mid-booking, a
wrong password, and `voicebox integrations check`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from radicale_server import PASSWORD, Radicale

from appliance.config.calendar import CalendarServer, Hours
from appliance.tools.booking import BookingDesk, Step
from appliance.tools.calendar_client import CalDavCalendar, CalendarError

ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=ZONE)
TUE10 = datetime(2026, 12, 8, 10, 0, tzinfo=ZONE)
WEEK = "09:00-17:00"
HOURS = Hours(mon=WEEK, tue=WEEK, wed=WEEK, thu=WEEK, fri=WEEK)
KINDS = [{"name": "consultation", "duration_min": 60, "buffer_min": 15}]


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    server = Radicale(tmp_path_factory.mktemp("radicale")).start()
    yield server
    server.stop()


@pytest.fixture
def staff(radicale: Radicale) -> Any:
    """The office calendar as the staff's own calendar app sees it, emptied for each test."""
    cal: Any = radicale.client_calendar()
    for event in cal.events():
        event.delete()
    return cal


def _events(staff: Any, day: datetime) -> list[tuple[datetime, str]]:
    found = staff.search(start=day, end=day + timedelta(days=1), event=True, expand=True)
    out = [(e.icalendar_component["dtstart"].dt.astimezone(ZONE),
            str(e.icalendar_component.get("summary", ""))) for e in found]  # fmt: skip
    return sorted(out)


def _desk(radicale: Radicale, **server: Any) -> BookingDesk:
    cfg = CalendarServer.model_validate({**radicale.integration(**server), "appointments": KINDS})
    return BookingDesk(CalDavCalendar(cfg, ZONE), cfg, HOURS, ZONE, "scheduling")


def _say(d: BookingDesk, text: str, name: str = "Anna Schmidt", phone: str = "+4930111") -> Step:
    step = d.turn(text, now=NOW, name=name, phone=phone)
    assert step is not None
    return step


def _day(d: datetime) -> datetime:
    return d.replace(hour=0, minute=0)


def test_free_times_go_around_the_staffs_own_events(radicale: Radicale, staff: Any) -> None:
    staff.save_event(dtstart=TUE10.replace(hour=9), dtend=TUE10.replace(hour=12),
                     summary="Team meeting")  # fmt: skip
    d = _desk(radicale)
    step = _say(d, "Can I have a consultation on Tuesday at 10?")
    assert "is taken" in step.reply
    assert step.call is not None and step.call.name == "calendar.free"
    offered = [datetime.fromisoformat(t) for t in step.call.detail.split(", ")]
    assert offered and all(t >= TUE10.replace(hour=12) for t in offered)


def test_book_move_and_cancel_are_on_the_server(radicale: Radicale, staff: Any) -> None:
    d = _desk(radicale)
    _say(d, "I'd like a consultation next Tuesday at 10")
    assert _events(staff, _day(TUE10)) == []  # read back, not written yet
    booked = _say(d, "yes")
    assert booked.call is not None and booked.call.result == "ok"
    assert _events(staff, _day(TUE10)) == [(TUE10, "consultation: Anna Schmidt")]
    (event,) = staff.search(start=_day(TUE10), end=_day(TUE10) + timedelta(days=1), event=True)
    comp = event.icalendar_component
    assert (str(comp["x-voicebox-phone"]), str(comp["x-voicebox-buffer"])) == ("+4930111", "15")
    # a new call from the same number finds it by caller id, without the name
    d2 = _desk(radicale)
    step = _say(d2, "I need to move my appointment to Wednesday at 2 pm", name="")
    assert "from Tuesday the 8th of December at 10 am" in step.reply
    _say(d2, "yes", name="")
    wed2 = datetime(2026, 12, 9, 14, 0, tzinfo=ZONE)
    assert _events(staff, _day(TUE10)) == []
    assert _events(staff, _day(wed2)) == [(wed2, "consultation: Anna Schmidt")]
    d3 = _desk(radicale)
    step = _say(d3, "please cancel my appointment", name="")
    assert "Wednesday the 9th of December at 2 pm" in step.reply
    assert _say(d3, "yes", name="").call.result == "ok"  # type: ignore[union-attr]
    assert _events(staff, _day(wed2)) == []


def test_a_slot_taken_behind_the_boxs_back_is_never_double_booked(
    radicale: Radicale, staff: Any
) -> None:
    d = _desk(radicale)
    step = _say(d, "book a consultation next Tuesday at 10")
    assert "shall I book it" in step.reply
    staff.save_event(dtstart=TUE10, dtend=TUE10 + timedelta(minutes=30), summary="Dentist")
    step = _say(d, "yes")
    assert step.call is not None and step.call.result == "conflict"
    assert "has just been taken" in step.reply
    assert _events(staff, _day(TUE10)) == [(TUE10, "Dentist")]
    step = _say(d, "the first one")
    assert "shall I book it" in step.reply
    _say(d, "yes")
    assert len(_events(staff, _day(TUE10))) == 2


def test_the_server_going_down_mid_booking_gives_the_apology(
    tmp_path: Path, staff: Any
) -> None:
    own = Radicale(tmp_path / "down").start()
    try:
        d = _desk(own)
        assert "shall I book it" in _say(d, "book a consultation next Tuesday at 10").reply
        own.stop()
        step = _say(d, "yes")
        assert "can't reach our calendar" in step.reply
        assert step.call is not None and (step.call.result, step.call.detail) == ("failed", "down")
        assert "consultation" in step.fallback and "Tuesday the 8th" in step.fallback
        own.start()  # back: nothing was written
        cal: Any = own.client_calendar()
        assert cal.search(start=_day(TUE10), end=_day(TUE10) + timedelta(days=1), event=True) == []
    finally:
        own.stop()


def test_a_wrong_password_is_an_auth_failure(radicale: Radicale) -> None:
    cfg = CalendarServer.model_validate(
        {**radicale.integration(password="wrong"), "appointments": KINDS}
    )
    with pytest.raises(CalendarError) as err:
        CalDavCalendar(cfg, ZONE).events(NOW, NOW + timedelta(days=1))
    assert err.value.kind == "auth"
    step = _desk(radicale, password="wrong").turn("book a consultation on Tuesday at 10",
                                                  now=NOW, name="A B", phone="")  # fmt: skip
    assert step is not None and "can't reach our calendar" in step.reply


def test_integrations_check_logs_in_to_the_calendar(tmp_path: Path, radicale: Radicale) -> None:
    voicebox = Path(sys.executable).parent / "voicebox"
    data = yaml.safe_load((ROOT / "appliance/templates/starter.yaml").read_text())
    results = []
    for password in (PASSWORD, "wrong"):
        data["integrations"] = {"calendar": {**radicale.integration(password=password),
                                             "appointments": KINDS}}  # fmt: skip
        path = tmp_path / "voicebox.yaml"
        path.write_text(yaml.safe_dump(data))
        run = subprocess.run([str(voicebox), "integrations", "check", "--config", str(path)],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        results.append((run.returncode, run.stdout.strip()))
    assert results[0][0] == 0 and results[0][1].startswith("OK    calendar: calendar http")
    assert "/office/ answers" in results[0][1]
    assert results[1][0] == 1 and results[1][1].startswith("FAIL  calendar:")
    assert "the server refused the login (user or password wrong)" in results[1][1]


CARDS = [
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:Anna Schmidt\r\nORG:Schmidt GmbH\r\n"
    "TEL;TYPE=cell:+49 30 5550101\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:b\r\nN:Jones;Bob;;;\r\nFN:Bob Jones\r\nTEL:030 5550177\r\n"
    "END:VCARD\r\n",
]


def test_callers_are_found_in_a_carddav_address_book(radicale: Radicale) -> None:
    from appliance.config.integrations import CardDav
    from appliance.tools.carddav import CardDavDirectory

    url = radicale.address_book("contacts", CARDS)
    book = CardDavDirectory(CardDav(url=url, username="office", password=PASSWORD))
    assert book.wait(10) and book.error == ""
    anna = book.find("+49305550101")
    assert anna is not None and (anna.name, anna.company) == ("Anna Schmidt", "Schmidt GmbH")
    bob = book.find("5550177")  # the caller id without the area code
    assert bob is not None and bob.name == "Bob Jones"
    assert book.find("+4989123456") is None
    wrong = CardDavDirectory(CardDav(url=url, username="office", password="nope"))
    assert wrong.wait(10) and "wrong user name or password" in wrong.error
    assert wrong.find("+49305550101") is None


def test_a_known_caller_from_carddav_is_greeted_by_name(radicale: Radicale) -> None:
    from fakes import ScriptedBrain
    from fakes.engine import fake_engine

    from appliance.config import parse_config

    url = radicale.address_book("greet", CARDS)
    data = yaml.safe_load((ROOT / "appliance/templates/starter.yaml").read_text())
    data["integrations"] = {"contacts": {"carddav": {"url": url, "username": "office",
                                                     "password": PASSWORD}}}  # fmt: skip
    engine = fake_engine(parse_config(data), ScriptedBrain())
    assert engine.contacts is not None and engine.contacts.wait(10)  # type: ignore[union-attr]
    conv = engine.new_conversation(caller='"Anna" <sip:+49305550101@pbx>')
    greeting = conv.start()
    assert greeting.startswith("Hello Anna Schmidt, good to hear from you.")
    assert conv.slots == {"name": "Anna Schmidt", "company": "Schmidt GmbH"}
