"""The calendar dialogue (appliance/tools/booking.py) on an in-memory calendar: nothing is
written before the caller's yes, free/busy is read again at the yes, a missing name is asked
for, a failing calendar gives an apology and the request for a ticket."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fakes.calendar import FakeCalendar

from appliance.assistants.spoken_time import spoken_when
from appliance.config.calendar import CalendarServer, Hours
from appliance.tools.booking import BookingDesk, Step, caller_name

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=ZONE)  # Thursday
TUE10 = datetime(2026, 12, 8, 10, 0, tzinfo=ZONE)
WEEK = "09:00-17:00"
HOURS = Hours(mon=WEEK, tue=WEEK, wed=WEEK, thu=WEEK, fri=WEEK,
              closed_days=[datetime(2026, 12, 9).date()])  # fmt: skip
SERVER = CalendarServer(
    url="http://127.0.0.1:1/",
    appointments=[
        {"name": "consultation", "duration_min": 60, "buffer_min": 15},
        {"name": "technician visit", "duration_min": 120, "words": ["technician", "repair"]},
    ],
)


@pytest.fixture
def cal() -> FakeCalendar:
    return FakeCalendar()


def desk(cal: FakeCalendar) -> BookingDesk:
    return BookingDesk(cal, SERVER, HOURS, ZONE, "scheduling")


def say(d: BookingDesk, text: str, name: str = "", phone: str = "+4930111") -> Step:
    step = d.turn(text, now=NOW, name=name, phone=phone)
    assert step is not None, text
    return step


def test_a_booking_is_read_back_and_written_only_after_yes(cal: FakeCalendar) -> None:
    d = desk(cal)
    step = say(d, "I'd like a consultation next Tuesday at 10")
    assert "Under which name" in step.reply and cal.writes == 0
    step = say(d, "It's Anna Schmidt")
    assert step.name == "Anna Schmidt"
    assert step.reply == (
        "Tuesday the 8th of December at 10 am, one hour, for a consultation, under the name "
        "Anna Schmidt: shall I book it?"
    )
    assert cal.writes == 0
    step = say(d, "yes please", name="Anna Schmidt")
    assert cal.writes == 1 and step.call is not None and step.call.result == "ok"
    (booked,) = cal.items.values()
    assert (booked.start, booked.who, booked.kind) == (TUE10, "Anna Schmidt", "consultation")
    assert booked.end - booked.start == timedelta(hours=1)
    assert spoken_when(TUE10) in step.reply and "booked" in step.reply
    assert "booked" in d.done


def test_a_no_writes_nothing(cal: FakeCalendar) -> None:
    d = desk(cal)
    say(d, "book a consultation next Tuesday at 10", name="Anna Schmidt")
    step = say(d, "no, actually not", name="Anna Schmidt")
    assert cal.writes == 0 and "haven't changed anything" in step.reply


def test_an_unclear_answer_to_the_read_back_asks_again(cal: FakeCalendar) -> None:
    d = desk(cal)
    say(d, "book a consultation next Tuesday at 10", name="Anna Schmidt")
    step = say(d, "hmm, what was that", name="Anna Schmidt")
    assert cal.writes == 0 and "yes or no" in step.reply


def test_a_slot_taken_between_offer_and_yes_is_told_with_alternatives(cal: FakeCalendar) -> None:
    d = desk(cal)
    say(d, "book a consultation next Tuesday at 10", name="Anna Schmidt")
    cal.add(TUE10, TUE10 + timedelta(minutes=30))  # the office books it behind the box's back
    step = say(d, "yes", name="Anna Schmidt")
    assert cal.writes == 0
    assert step.call is not None and step.call.result == "conflict"
    assert "has just been taken" in step.reply and "10:30 am" in step.reply
    step = say(d, "10:30 then", name="Anna Schmidt")
    assert "10:30 am" in step.reply and "shall I book it" in step.reply
    say(d, "yes", name="Anna Schmidt")
    assert cal.writes == 1


def test_a_busy_time_offers_the_nearest_free_ones_respecting_buffers(cal: FakeCalendar) -> None:
    cal.add(TUE10, TUE10 + timedelta(hours=1), kind="consultation", buffer_min=15)
    d = desk(cal)
    step = say(d, "a consultation next Tuesday at 10 please", name="Bob Jones")
    # 9:00 would run into the 10:00 one; 11:00 into its 15-minute buffer
    assert "is taken" in step.reply and "11:30 am" in step.reply and "9 am" not in step.reply
    assert cal.writes == 0


def test_closed_days_and_hours_are_never_offered(cal: FakeCalendar) -> None:
    d = desk(cal)
    step = say(d, "Can a technician come on Saturday?")
    assert "closed on Saturday" in step.reply and "Monday the 7th" in step.reply
    step = desk(cal).turn("a consultation on Wednesday at 10", now=NOW, name="A B", phone="")
    assert step is not None and "closed on Wednesday" in step.reply  # a closed day (holiday)
    step = desk(cal).turn("a consultation on Monday at 4:30 pm", now=NOW, name="A B", phone="")
    assert step is not None and "outside our opening hours" in step.reply
    assert cal.writes == 0


def test_the_type_is_asked_for_when_the_caller_did_not_say_it(cal: FakeCalendar) -> None:
    step = say(desk(cal), "I'd like an appointment on Monday")
    kinds = "a consultation or a technician visit"
    assert step.reply == f"Which kind of appointment would you like: {kinds}?"


def test_a_day_alone_gets_free_times_spread_over_it(cal: FakeCalendar) -> None:
    step = say(desk(cal), "what do you have free for a consultation on Monday?")
    assert step.call is not None and step.call.name == "calendar.free"
    assert "9 am" in step.reply and step.reply.count(",") + step.reply.count(" or ") >= 2


def test_move_and_cancel_find_the_callers_appointment_by_caller_id(cal: FakeCalendar) -> None:
    own = cal.add(TUE10, TUE10 + timedelta(hours=1), kind="consultation", who="Anna Schmidt",
                  phone="+49 30 111")  # fmt: skip
    d = desk(cal)
    step = say(d, "I need to move my appointment", phone="+4930111")
    assert "Tuesday the 8th of December at 10 am" in step.reply
    step = say(d, "to Monday at 2 pm", phone="+4930111")
    assert "Move your consultation" in step.reply and cal.writes == 0
    say(d, "yes", phone="+4930111")
    assert cal.items[own.uid].start == datetime(2026, 12, 7, 14, 0, tzinfo=ZONE)
    step = say(d, "actually please cancel it", phone="+4930111")
    assert "Shall I cancel it" in step.reply and cal.writes == 1
    step = say(d, "yes", phone="+4930111")
    assert own.uid not in cal.items and "cancelled" in step.reply


def test_another_callers_appointment_is_not_found_by_a_first_name(cal: FakeCalendar) -> None:
    cal.add(TUE10, TUE10 + timedelta(hours=1), kind="consultation", who="Anna Schmidt",
            phone="+4930111")  # fmt: skip
    d = desk(cal)
    step = say(d, "please cancel my appointment", name="Anna", phone="+4930999")
    assert step.call is not None and step.call.result == "not found"
    step = desk(cal).turn("please cancel my appointment", now=NOW, name="anna schmidt",
                          phone="+4930999")  # fmt: skip
    assert step is not None and "Shall I cancel it" in step.reply  # the full name finds it


def test_a_failing_calendar_apologises_and_hands_over_the_request(cal: FakeCalendar) -> None:
    d = desk(cal)
    say(d, "book a consultation next Tuesday at 10", name="Anna Schmidt")
    cal.fail = "down"
    step = say(d, "yes", name="Anna Schmidt")
    assert "can't reach our calendar" in step.reply
    assert step.call is not None and step.call.result == "failed"
    assert "consultation" in step.fallback and "Tuesday the 8th" in step.fallback


def test_invalid_arguments_never_run(cal: FakeCalendar) -> None:
    d = desk(cal)
    say(d, "book a consultation next Tuesday at 10", name="X")
    step = say(d, "yes", name="X")  # a one-letter name fails the schema: asked, not written
    assert cal.writes == 0 and step.call is not None and step.call.result == "invalid"
    assert "Under which name" in step.reply


def test_other_talk_is_left_to_the_model(cal: FakeCalendar) -> None:
    assert desk(cal).turn("what's your address?", now=NOW, name="", phone="") is None


@pytest.mark.parametrize(
    ("said", "name"),
    [("Anna Schmidt", "Anna Schmidt"), ("it's anna schmidt", "Anna Schmidt"),
     ("My name is Bob Jones, thanks", "Bob Jones"), ("yes", ""), ("555 0123", ""),
     ("It is Anna Schmidt calling", "Anna Schmidt"), ("this is Mr. Brown", "Mr Brown"),
     ("my name is bob jones and I need a visit", "Bob Jones"),
     ("and a Schmidt.", "Schmidt")]  # whisper's "Anna Schmidt" on the phone,
)  # fmt: skip
def test_caller_name(said: str, name: str) -> None:
    assert caller_name(said) == name


def test_a_question_about_a_type_is_left_to_the_model(cal: FakeCalendar) -> None:
    d = desk(cal)
    say(d, "what do you have free for a consultation on Monday?")
    assert d.turn("How long does a consultation take?", now=NOW, name="", phone="") is None
    assert say(d, "A consultation at 2 pm then", name="A B").reply.endswith("shall I book it?")
