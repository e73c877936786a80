"""The summary of a warm transfer travels in a SIP header (X-Voicebox-Summary): the caller's
words must not be able to end the header and add their own (CR, LF, NUL, other controls)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from appliance.tools.transfer import SUMMARY_MAX, header_safe, summary_for_person

EVIL = [
    "hello\r\nVia: SIP/2.0/UDP evil.example;branch=z9hG4bK1",
    "hello\nContact: <sip:attacker@evil.example>",
    "hello\rX-Injected: 1",
    "nul\x00byte",
    "tab\tvertical\x0bform\x0cescape\x1b[31m",
    "del\x7f and c1 \x85 next-line \x9b csi",
    "line\u2028separator\u2029paragraph",
]


@pytest.mark.parametrize("text", EVIL)
def test_no_control_character_survives(text: str) -> None:
    out = header_safe(text)
    assert out and all(ch >= " " and not 0x7F <= ord(ch) <= 0x9F for ch in out), repr(out)
    assert "\u2028" not in out and "\u2029" not in out
    assert "  " not in out and out == out.strip()


def test_the_words_stay_and_the_length_is_bounded() -> None:
    assert header_safe("hello\r\nVia: evil") == "hello Via: evil"
    assert header_safe("Grüße, Frau Müller; 5 € please") == "Grüße, Frau Müller; 5 € please"
    long = "word " * 200
    assert len(header_safe(long)) <= SUMMARY_MAX
    assert len(header_safe("x" * 1000, limit=50)) == 50


def test_the_summary_built_from_a_callers_words_is_one_safe_line() -> None:
    lines = [
        SimpleNamespace(role="caller", text="my name is Bob\r\nVia: SIP/2.0/UDP evil"),
        SimpleNamespace(role="assistant", text="Thanks."),
    ]
    conv = SimpleNamespace(slots={"name": "Bob\r\nX-Evil: 1", "phone": ""}, lines=lines)
    summary = summary_for_person(conv, "put me through\x00 now")  # type: ignore[arg-type]
    assert "\r" not in summary and "\n" not in summary and "\x00" not in summary
    assert "Bob X-Evil: 1" in summary and "Via: SIP/2.0/UDP evil" in summary
    assert len(summary) <= SUMMARY_MAX
