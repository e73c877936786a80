"""Asking for a person (issue 11, item 8): a request for a person with a topic is routed by the
team; an explicit request for a real person goes to a person; a negated one does not; only the
human key alone on the keypad asks for a person, a typed number starting with 0 does not."""

from __future__ import annotations

import pytest

from appliance.tools.human import keypad_wants_person, wants_person

PERSON = [
    "I want to talk to a real person.",
    "Can I speak to a human?",
    "Operator, please.",
    "Get me the operator.",
    "Put me through to someone.",
    "A person, please.",
    "Can I talk to someone?",
    "I'd like to speak to someone, please.",
    "I want to talk to a real person about my bill.",
    "Connect me to a human being.",
    "I want to speak to someone from your team.",
    "Can I talk to an actual person?",
    "I want to speak to someone now.",
    "I need to speak to the technician on call.",
    "Can I talk to the engineer on duty?",
]
NOT_PERSON = [
    "Can I talk to someone about pricing?",
    "I need someone to fix my printer.",
    "can you not connect me to a person",
    "I don't want to talk to a person, just tell me the price.",
    "No need for a human, thanks.",
    "Is there someone who can help me with my invoice?",
    "Can I talk to someone in sales?",
    "I need someone for a quote.",
    "I need a technician on Monday.",
    "I was told to call you.",
    "Someone broke my window.",
    "What time do you open?",
]


@pytest.mark.parametrize("text", PERSON)
def test_explicit_requests_for_a_person(text: str) -> None:
    assert wants_person(text)


@pytest.mark.parametrize("text", NOT_PERSON)
def test_topics_and_negations_are_not_a_request_for_a_person(text: str) -> None:
    assert not wants_person(text)


@pytest.mark.parametrize(
    ("digits", "key", "person"),
    [
        ("0", "0", True),  # the lone human key
        ("0049891234", "0", False),  # a German number typed on the keypad
        ("0049 89 1234".replace(" ", ""), "0", False),
        ("00", "0", False),
        ("01", "0", False),
        ("4711", "0", False),
        ("9", "9", True),
        ("*", "*", True),
        ("0", "", False),  # no human key configured
        ("", "0", False),
    ],
)
def test_only_the_lone_human_key_asks_for_a_person(digits: str, key: str, person: bool) -> None:
    assert keypad_wants_person(digits, key) is person


class _Loop:
    def __init__(self) -> None:
        self.typed_digits: list[str] = []
        self.conv = self
        self.turns: list[str] = []

    def typed(self, digits: str) -> None:
        self.typed_digits.append(digits)

    def record_turn(self, text: str, reply: str, reason: str) -> None:
        self.turns.append(text)


def _session(timeout_ms: int = 60_000) -> tuple[object, _Loop, list[str]]:
    from appliance.config import load_config
    from appliance.daemon.call_session import CallSession

    cfg = load_config()
    cfg.sip.dtmf.digits_timeout_ms = timeout_ms
    s = object.__new__(CallSession)
    loop, asked = _Loop(), []
    s.cfg, s.loop, s.digits, s._digit_timer = cfg, loop, "", None  # type: ignore[attr-defined]
    s.request_human = lambda name, why, **kw: asked.append(why)  # type: ignore[method-assign]
    return s, loop, asked


def test_a_number_typed_from_0_reaches_the_assistant_not_a_person() -> None:
    s, loop, asked = _session()
    for key in "004989 1234".replace(" ", "") + "#":
        s.on_dtmf(key)  # type: ignore[attr-defined]
    assert asked == [] and loop.typed_digits == ["0049891234"]


def test_the_lone_0_key_asks_for_a_person_and_is_in_the_transcript() -> None:
    s, loop, asked = _session()
    s.on_dtmf("0")  # type: ignore[attr-defined]
    assert asked == []  # not yet: it may be the first digit of a number
    s.on_dtmf("#")  # type: ignore[attr-defined]
    assert asked == ["keypad"] and loop.typed_digits == []
    assert loop.turns == ["(pressed 0 for a person)"]


def test_the_lone_0_key_asks_for_a_person_after_the_pause() -> None:
    import time

    s, loop, asked = _session(timeout_ms=300)
    s.on_dtmf("0")  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while not asked and time.monotonic() < deadline:
        time.sleep(0.05)
    assert asked == ["keypad"] and loop.typed_digits == []
