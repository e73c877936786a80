"""The daemon's log (the journal) gets event types, ids and timings, not the callers' words,
unless the config's logging.transcripts turns them on."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from appliance.config import Config, load_config, template_text
from appliance.journal import printer, redact, without_name

WORDS = "my name is Anna Berg and my knee hurts since Tuesday"
EVENTS: list[dict[str, Any]] = [
    {
        "type": "call_incoming",
        "call": "c1",
        "caller": '"Anna Berg" <sip:201@pbx>;x=1',
        "source": "127.0.0.1:5060",
        "assistant": "frontdesk",
    },
    {"type": "partial", "call": "c1", "t_ms": 4000, "text": "my name is anna"},
    {
        "type": "utterance",
        "call": "c1",
        "t_ms": 5200,
        "text": WORDS,
        "confidence": 0.9,
        "asr_ms": 80.5,
        "speculative": False,
    },
    {
        "type": "routing",
        "call": "c1",
        "turn": 1,
        "outcome": "handoff",
        "target": "nurse",
        "path": "fast",
        "reason": "rule 1",
        "scores": {"nurse": 0.8},
        "latency_ms": 4.2,
    },
    {
        "type": "handoff",
        "call": "c1",
        "from": "frontdesk",
        "to": "nurse",
        "announcement": "Anna, I'll connect you to the nurse.",
        "history": WORDS,
    },
    {
        "type": "slots",
        "call": "c1",
        "turn": 1,
        "slots": {"name": "Anna Berg", "phone": ""},
        "changed": ["name"],
    },
    {
        "type": "reply",
        "call": "c1",
        "turn": 1,
        "assistant": "nurse",
        "text": "Sorry to hear about your knee, Anna.",
        "first_token_ms": 300.0,
        "total_ms": 900.0,
    },
    {"type": "cut_off", "call": "c1", "heard": "Sorry to hear about your knee"},
    {"type": "audio_start", "call": "c1", "kind": "reply", "text": "Sorry to hear, Anna."},
    {
        "type": "transfer_start",
        "call": "c1",
        "human": "reception",
        "summary": "Caller details: name: Anna Berg. They said: knee",
    },
    {
        "type": "message",
        "call": "c1",
        "who": "Anna Berg",
        "callback": "0176 555 12",
        "what": "knee hurts",
    },
    {"type": "call_end", "call": "c1", "reason": "caller hung up", "turns": 1},
]
SECRETS = ("Anna", "knee", "Tuesday", "0176")


def test_no_callers_words_in_the_redacted_events() -> None:
    out = json.dumps([redact(e) for e in EVENTS])
    for word in SECRETS:
        assert word not in out, word
    for raw, red in zip(EVENTS, (redact(e) for e in EVENTS), strict=True):
        assert red.keys() == raw.keys()  # the same shapes: --json consumers find every key
    utt = redact(EVENTS[2])
    assert utt["text"] == f"[{len(WORDS)} chars not logged]"
    assert (utt["confidence"], utt["asr_ms"], utt["call"]) == (0.9, 80.5, "c1")
    assert redact(EVENTS[0])["caller"] == "<sip:201@pbx>;x=1"
    assert redact(EVENTS[3]) == EVENTS[3]  # routing: ids, scores, timings, reason
    assert redact(EVENTS[5])["slots"]["phone"] == "" and redact(EVENTS[5])["changed"] == ["name"]


@pytest.mark.parametrize("caller", ["<sip:201@pbx>", "sip:201@pbx", "Anna <sip:201@pbx>"])
def test_display_names_go_numbers_stay(caller: str) -> None:
    assert "201@pbx" in without_name(caller) and "Anna" not in without_name(caller)


@pytest.mark.parametrize("as_json", [True, False])
def test_the_printer_hides_words_by_default_and_shows_them_when_turned_on(
    as_json: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    on = {"value": False}
    show = printer(as_json, lambda: on["value"])
    for ev in EVENTS:
        show(ev)
    quiet = capsys.readouterr().out
    assert "utterance" in quiet and "call_end" in quiet and "c1" in quiet
    for word in SECRETS:
        assert word not in quiet, (word, quiet)
    if as_json:
        lines = [json.loads(x) for x in quiet.splitlines()]
        assert [e["type"] for e in lines] == [e["type"] for e in EVENTS]
    on["value"] = True  # a reload that turns logging.transcripts on applies to the next event
    show(EVENTS[2])
    assert WORDS in capsys.readouterr().out


def test_logging_transcripts_is_off_unless_the_config_says_so() -> None:
    cfg = load_config("starter")
    assert cfg.logging.transcripts is False
    data = yaml.safe_load(template_text("starter"))
    data["logging"] = {"transcripts": True}
    assert Config.model_validate(data).logging.transcripts is True
    data["logging"] = {"transcript": True}  # a typo is an error, not silently ignored
    with pytest.raises(ValueError, match="transcript"):
        Config.model_validate(data)
