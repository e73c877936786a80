"""Outbound calls from the running box: `voicebox call URI --assistant NAME` asks the daemon
(its models, call limit and store) instead of loading its own, and the opt-in reminder call: the
day before an appointment on the office calendar (Radicale), the daemon calls the number it was
booked from through kamailio, the phone's caller (Piper) says they'll be there, and the result
is on record. Real kamailio, Radicale, whisper, Piper; the 135M model (the reminder dialogue
does not ask it)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from radicale_server import Radicale, calendar_config
from sipkit import (
    ROOT,
    VOICEBOX,
    Kamailio,
    Proc,
    Wavs,
    box_config,
    silence_wav,
    start_box,
    start_extension,
)

from appliance.config import parse_config
from appliance.tools.calendar_client import CalDavCalendar

pytestmark = pytest.mark.e2e
ZONE = ZoneInfo("Europe/Berlin")


def _rows(db: Path, sql: str) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(sql)]


def test_voicebox_call_goes_through_the_running_daemon(
    control_box: tuple[Proc, Path], kamailio: Kamailio, sipdir: Path
) -> None:
    box, sock = control_box
    phone = start_extension(kamailio, "205", silence_wav(sipdir, 8), sipdir, "--tail", "0")
    try:
        mark = box.mark()
        t0 = time.monotonic()
        done = subprocess.run(
            [VOICEBOX, "call", f"sip:205@{kamailio.host}", "--assistant", "scheduling",
             "--control", str(sock), "--json"],
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        events = [json.loads(line) for line in done.stdout.splitlines()]
        kinds = [e["type"] for e in events]
        assert "ready" not in kinds, "no models of its own: the daemon placed the call"
        assert kinds[0] == "call_dialing" and "call_connected" in kinds and kinds[-1] == "call_end"
        key = events[0]["call"]
        assert {e.get("call") for e in events} == {key}
        start = box.wait_for(lambda e: e["type"] == "call_start" and e.get("call") == key, 5,
                             since=mark)  # fmt: skip
        assert start["assistant"] == "scheduling"
        assert time.monotonic() - t0 < 60  # the 15 s of a process of its own are not paid
        bad = subprocess.run(
            [VOICEBOX, "call", f"sip:205@{kamailio.host}", "--assistant", "billing",
             "--control", str(sock)],
            capture_output=True, text=True, timeout=30, cwd=ROOT,
        )  # fmt: skip
        assert bad.returncode != 0 and "unknown assistant 'billing'" in bad.stderr
    finally:
        phone.stop()
    db = sipdir / "control.db"
    convs = _rows(db, "SELECT caller, entry_assistant FROM conversations")
    assert {"caller": f"sip:205@{kamailio.host}", "entry_assistant": "scheduling"} in convs


def test_a_reminder_call_the_day_before_keeps_the_appointment(
    kamailio: Kamailio, sipdir: Path, wavs: Wavs, tmp_path: Path
) -> None:
    radicale = Radicale(tmp_path / "radicale").start()
    box: Proc | None = None
    phone = start_extension(
        kamailio, "204", wavs.script("keeps", [(13000, "Yes, I'll be there.")], tail_ms=12000),
        sipdir, "--tail", "0",
    )  # fmt: skip
    try:
        path = box_config(sipdir / "reminders.yaml", kamailio, user="106")
        data = {**calendar_config(radicale), **{k: v for k, v in yaml.safe_load(
            path.read_text()).items() if k in ("sip", "logging")}}  # fmt: skip
        data["integrations"]["calendar"]["reminders"] = {
            "enabled": True, "office": "Brightline Office Services", "call_hours": "00:00-24:00",
        }  # fmt: skip
        cfg = parse_config(data)
        assert cfg.integrations.calendar is not None
        tomorrow = (datetime.now(ZONE) + timedelta(days=1)).replace(
            hour=10, minute=0, second=0, microsecond=0
        )
        booked = CalDavCalendar(cfg.integrations.calendar, ZONE).book(
            "consultation", tomorrow, tomorrow + timedelta(hours=1), who="Anna Schmidt",
            phone="204", buffer_min=15, note="booked by a test",
        )  # fmt: skip
        path.write_text(yaml.safe_dump(data))
        box = start_box(path, sipdir, llm="smollm2-135m", name="reminders")
        dialing = box.wait_for(lambda e: e["type"] == "call_dialing", 60)
        assert dialing["uri"] == f"sip:204@{kamailio.host}" and dialing["assistant"] == "scheduling"
        key = dialing["call"]
        end = box.wait_for(lambda e: e["type"] == "call_end" and e.get("call") == key, 90)
        assert end["reason"] == "goodbye said", end
        said = [e["text"] for e in box.of("audio_start", call=key)]
        assert said[0].startswith("Hello, this is Brightline Office Services with a reminder")
        tools = [e for e in box.of("tool", call=key)]
        assert [(t["tool"], t["result"]) for t in tools] == [("calendar.keep", "ok")], tools
        heard = [e["text"] for e in box.of("utterance", call=key)]
        assert any("there" in h.lower() for h in heard), heard
        time.sleep(1.0)  # the result is written as the session ends
        rows = _rows(sipdir / "reminders.db", "SELECT uid, state, attempts FROM reminders")
        assert rows == [{"uid": booked.uid, "state": "kept", "attempts": 1}]
        still = CalDavCalendar(cfg.integrations.calendar, ZONE).get(booked.uid)
        assert still is not None and still.start == tomorrow  # kept as it was
        assert phone.of("call_done"), "the phone was called and answered"
    finally:
        if box is not None:
            box.stop()
        phone.stop()
        radicale.stop()
