"""A caller books an appointment by voice: `voicebox simulate` with a spoken caller (Piper) on
the starter team whose scheduling assistant has the calendar tool, a real CalDAV calendar
(Radicale), whisper, the 1.5B model and Piper for the box; the booking is then checked on the
server and in what the box said."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from radicale_server import Radicale, calendar_config

from appliance.audio.callers import CallerScript, piper
from appliance.audio.wav import write_wav
from appliance.config import Voice

pytestmark = [pytest.mark.real, pytest.mark.llm15]
ZONE = ZoneInfo("Europe/Berlin")


def _next_tuesday_10() -> datetime:
    now = datetime.now(ZONE)
    ahead = (1 - now.weekday()) % 7 or 7
    return (now + timedelta(days=ahead)).replace(hour=10, minute=0, second=0, microsecond=0)


def test_a_caller_books_a_consultation_by_voice(tmp_path: Path, speech_models: Any) -> None:
    radicale = Radicale(tmp_path / "radicale").start()
    try:
        config = tmp_path / "voicebox.yaml"
        data = calendar_config(radicale)
        # the caller waits up to 16 s between lines: no "are you still there?" over their words
        # (CI once heard the reprompt start as the name was said, and the name was lost)
        data.setdefault("speech", {}).update(reprompt_after_s=30.0, hangup_after_s=60.0)
        config.write_text(yaml.safe_dump(data))
        tts = speech_models.voice(Voice())
        lines = ["I'd like to book a consultation next Tuesday at ten.", "My name is Anna Schmidt.",
                 "Yes, please."]  # fmt: skip
        script = CallerScript().pause(5500)
        for text, wait in zip(lines, (16000, 12000, 12000), strict=True):
            script = script.say(piper(tts, text), text).pause(wait)
        wav = tmp_path / "caller.wav"
        write_wav(wav, script.audio, script.rate)
        done = subprocess.run(
            [sys.executable, "-m", "appliance.cli", "simulate", "--wav", str(wav), "--config",
             str(config), "--json", "--db", str(tmp_path / "voicebox.db")],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        events = [json.loads(line) for line in done.stdout.splitlines()]
        heard = [e["text"] for e in events if e["type"] in ("utterance", "ignored", "held")]
        said = " ".join(e.get("text", "") for e in events if e["type"] == "audio_start")
        staff: Any = radicale.client_calendar()
        when = _next_tuesday_10()
        found = staff.search(start=when - timedelta(hours=1), end=when + timedelta(hours=2),
                             event=True)  # fmt: skip
        starts = [e.icalendar_component["dtstart"].dt.astimezone(ZONE) for e in found]
        summaries = [str(e.icalendar_component["summary"]) for e in found]
        routed = [(e.get("outcome"), e.get("target")) for e in events if e["type"] == "routing"]
        assert starts == [when], (heard, routed, said[-600:])
        assert summaries[0].startswith("consultation: "), summaries
        assert "shall I book it?" in said and "is booked for Tuesday the" in said, said
    finally:
        radicale.stop()
