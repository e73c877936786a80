"""`--now ISO-TIME` for test-flows and chat: the office's clock fixed, so that "tomorrow" and
"next Tuesday" mean known days in a test."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fakes import ScriptedBrain
from fakes.engine import fake_engine

from appliance.cli import main
from appliance.config import parse_config
from appliance.conversation import fixed_now
from appliance.flows import FlowFile, run_flows


def test_a_time_without_a_zone_is_in_the_office_zone() -> None:
    at = fixed_now("2026-12-07T09:30", "Europe/Berlin")
    assert at == datetime(2026, 12, 7, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    named = fixed_now("2026-12-07T09:30+00:00", "Europe/Berlin")
    assert named.utcoffset() is not None and named.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        fixed_now("next tuesday", "")


def test_flows_run_on_the_fixed_clock() -> None:
    cfg = parse_config(
        {
            "team": {"entry": "frontdesk", "timezone": "America/New_York"},
            "assistants": [{"name": "frontdesk", "title": "Front desk", "system_prompt": "Hi."}],
        }
    )
    brain = ScriptedBrain(["Sure."])
    flows = FlowFile.model_validate(
        {"scenarios": [{"name": "clock", "turns": [{"caller": "What day is it?"}]}]}
    )
    at = fixed_now("2026-12-07T09:30", cfg.team.timezone)
    assert run_flows(flows, fake_engine(cfg, brain), now=at) == (1, 0)
    notes = [m.content for m in brain.reply_calls[0].messages if m.role == "system"]
    assert any(
        n.startswith("Today is Monday, December 7, 2026; the time is 09:30 (America/New_York")
        and "Tomorrow is Tuesday, December 8." in n
        for n in notes
    ), notes


def test_a_bad_now_is_refused_before_anything_loads(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test-flows", "missing.yaml", "--now", "tomorrow"]) == 1
    assert "not an ISO time" in capsys.readouterr().err
