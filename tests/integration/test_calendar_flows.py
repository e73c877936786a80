"""Flow scenarios on the default 1.5B model with a real CalDAV calendar (Radicale): scheduling
books a real slot (checked on the server), a second caller hears the nearest free times and
books one, the first caller moves hers and the second cancels his; tool-call accuracy over the
suite; `voicebox report` on the store the flows filled counts what they did."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from radicale_server import Radicale, calendar_config

from appliance.config import parse_config
from appliance.engine import Engine
from appliance.flows import load_flows, run_flows
from appliance.store import Store

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "tests/flows/calendar.yaml"
ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=ZONE)
pytestmark = pytest.mark.llm15

@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, qwen_engine: Any) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("calendar-flows")
    radicale = Radicale(folder / "radicale").start()
    data = calendar_config(radicale)
    (folder / "voicebox.yaml").write_text(yaml.safe_dump(data))
    store = Store(folder / "voicebox.db")
    engine = Engine.from_parts(
        parse_config(data), llm_name=qwen_engine.llm_name, embedder=qwen_engine.embedder,
        brain=qwen_engine.brain, listeners=[store.record],
    )  # fmt: skip
    engine.desk = store
    staff: Any = radicale.client_calendar()
    rows: list[dict[str, Any]] = []
    seen: dict[str, list[tuple[str, str]]] = {}

    def on_scenario(name: str, problem: str | None) -> None:
        found = staff.search(start=NOW, end=NOW + timedelta(days=14), event=True)
        seen[name] = sorted(
            (e.icalendar_component["dtstart"].dt.astimezone(ZONE).isoformat()[:16],
             str(e.icalendar_component["summary"])) for e in found
        )  # fmt: skip

    try:
        passed, failed = run_flows(load_flows(FLOWS), engine, on_turn=rows.append,
                                   on_scenario=on_scenario, now=NOW)  # fmt: skip
        store.close()
        yield {"rows": rows, "seen": seen, "passed": passed, "failed": failed,
               "db": folder / "voicebox.db", "config": folder / "voicebox.yaml"}  # fmt: skip
    finally:
        radicale.stop()


def test_every_turn_passes(run: dict[str, Any]) -> None:
    bad = [f"{r['scenario']} #{r['turn']}: {r['mismatch']}" for r in run["rows"] if not r["pass"]]
    assert not bad, "\n".join(bad)


def test_the_calendar_holds_what_each_scenario_did(run: dict[str, Any]) -> None:
    anna = ("2026-12-08T10:00", "consultation: Anna Schmidt")
    bob = ("2026-12-08T11:30", "consultation: Bob Jones")
    moved = ("2026-12-09T14:00", "consultation: Anna Schmidt")
    carl = ("2026-12-07T09:00", "technician visit: Carl Weber")
    assert list(run["seen"].values())[:5] == [
        [anna], [anna, bob], [bob, moved], [moved], [carl, moved]
    ]
    assert list(run["seen"].values())[-1] == [carl, moved]  # free times and questions book nothing


def test_tool_call_accuracy_is_at_least_95_percent(run: dict[str, Any]) -> None:
    """Right tool, right result, right arguments on every turn that expects a tool (or none);
    and no call ran with arguments the schema refused."""
    judged = [r for r in run["rows"] if "tool" in r["expected"]]
    right = [r for r in judged if r["pass"] or "tool" not in (r["mismatch"] or "")]
    invalid = [t for r in run["rows"] for t in r["tools"] if t["result"] == "invalid"]
    assert len(judged) >= 10
    assert len(right) / len(judged) >= 0.95
    assert invalid == []


def test_the_report_counts_what_the_flows_did(run: dict[str, Any]) -> None:
    voicebox = Path(sys.executable).parent / "voicebox"
    out = subprocess.run(
        [str(voicebox), "report", "--db", str(run["db"]), "--config", str(run["config"]),
         "--format", "json"], capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    report = json.loads(out.stdout)
    assert report["calls"] == 8
    assert report["outcomes"]["appointment booked"] == 3
    assert report["outcomes"]["appointment moved"] == 1
    assert report["outcomes"]["appointment cancelled"] == 1
    assert report["outcomes"]["ticket opened"] == 1
    assert report["outcomes"]["lead created"] == 1
    assert report["assistants"]["scheduling"]["outcomes"]["appointment booked"] == 3
    assert report["handoffs"]["pairs"]["frontdesk->scheduling"] == {"count": 2, "useful": 2}
