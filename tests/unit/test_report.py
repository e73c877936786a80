"""`voicebox report` on a real SQLite store filled with known calls: the counts match them."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from appliance.cli import main
from appliance.config import ReportSettings
from appliance.events import (
    CallerUtterance,
    ConversationEnded,
    ConversationStarted,
    Event,
    HandoffStarted,
    MessageTaken,
    QuestionAnswered,
)
from appliance.store import Store
from appliance.store.report import build

T0 = datetime(2026, 11, 2, 9, 0).timestamp()


def _handoff(cid: str, t: float, to: str) -> HandoffStarted:
    return HandoffStarted(
        cid, turn=1, from_assistant="frontdesk", to_assistant=to, announcement="", reason="r",
        path="fast", scores={}, history="full", t=t,
    )  # fmt: skip


def _call(store: Store, cid: str, start: float, length: float, turns: int, end: str,
          final: str, *middle: Event) -> None:  # fmt: skip
    store.record(ConversationStarted(cid, channel="sip", assistant="frontdesk", caller="201",
                                     t=start))  # fmt: skip
    for i in range(turns):
        store.record(CallerUtterance(cid, turn=i + 1, assistant=final, text="hi", t=start + i))
    for e in middle:
        store.record(e)
    store.record(ConversationEnded(cid, reason=end, assistant=final, turns=turns,
                                   t=start + length))  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "voicebox.db"
    store = Store(path)
    _call(store, "c1", T0, 180, 3, "caller hung up", "support", _handoff("c1", T0 + 30, "support"))
    store.open_ticket("c1", assistant="support", who="Ann", callback="201", summary="screen",
                      urgency="normal", targets=[])  # fmt: skip
    _call(store, "c2", T0 + 300, 240, 4, "caller hung up", "sales",
          _handoff("c2", T0 + 320, "sales"),
          MessageTaken("c2", assistant="sales", who="Bo", callback="", what="phones"))  # fmt: skip
    store.record_lead("c2", assistant="sales", fields={"need": "phones"}, targets=[])
    _call(store, "c3", T0 + 600, 60, 2, "transferred to reception (blind)", "frontdesk")
    _call(store, "c4", T0 + 900, 5, 0, "caller hung up", "frontdesk")
    _call(store, "c5", T0 + 1200, 120, 2, "caller hung up", "support",
          _handoff("c5", T0 + 1230, "support"))  # fmt: skip
    _call(store, "late", T0 + 86400 * 3, 60, 1, "caller hung up", "frontdesk")
    store.close()
    return path


def test_the_report_counts_what_the_calls_did(db: Path) -> None:
    con = sqlite3.connect(db)
    r = build(con, ReportSettings(), since=T0, until=T0 + 86400)
    assert r["calls"] == 5 and r["minutes"] == round((180 + 240 + 60 + 5 + 120) / 60, 1)
    assert r["outcomes"] == {
        "ticket opened": 1, "lead created": 1, "message taken": 1,
        "transferred to a person": 1, "abandoned": 1, "caller hung up": 1,
    }  # fmt: skip
    assert r["transfers_to_human"] == 1 and r["unanswered"] == 1
    assert r["handoffs"] == {
        "total": 3, "useful": 2,
        "pairs": {"frontdesk->sales": {"count": 1, "useful": 1},
                  "frontdesk->support": {"count": 2, "useful": 1}},
    }  # fmt: skip
    support = r["assistants"]["support"]
    assert support["calls"] == 2 and support["handling_minutes"] == round((150 + 90) / 60, 1)
    assert support["outcomes"] == {"ticket opened": 1, "caller hung up": 1}
    assert r["assistants"]["frontdesk"]["calls"] == 5  # every call starts there
    assert r["hours"]["09"] == 5 and sum(r["hours"].values()) == 5
    s = r["savings"]  # 4 calls handled by the box in one day: 120 a month at 4 minutes
    assert (s["handled_calls_per_month"], s["staff_minutes_per_month"]) == (120.0, 480.0)
    assert (s["staff_cost_per_month"], s["net_per_month"]) == (240.0, 215.0)
    whole = build(con, ReportSettings())
    assert whole["calls"] == 6 and whole["period"]["days"] == pytest.approx(3.0, abs=0.02)


def test_the_cli_prints_json_csv_and_a_table(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["report", "--db", str(db), "--config", "starter"]
    assert main([*base, "--format", "json", "--since", "2026-11-02", "--until", "2026-11-03"]) == 0
    r = json.loads(capsys.readouterr().out)
    for key in ("calls", "minutes", "outcomes", "assistants", "handoffs", "transfers_to_human",
                "hours", "savings"):  # fmt: skip
        assert key in r
    assert r["calls"] == 5
    assert main([*base, "--format", "csv"]) == 0
    assert "outcome,ticket opened,1" in capsys.readouterr().out.splitlines()
    assert main(base) == 0
    text = capsys.readouterr().out
    assert "calls 6" in text and "busiest hours: 09:00 (6)" in text
    assert all(len(line) <= 80 for line in text.splitlines())
    assert main([*base, "--since", "last week"]) == 1
    assert "not an ISO date" in capsys.readouterr().err


def test_a_question_answered_is_an_outcome_once_a_call_and_makes_its_handoff_useful(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "voicebox.db")
    asked = [QuestionAnswered("q1", turn=t, assistant="sales", topics=["prices"], t=T0 + 40 + t)
             for t in (2, 3)]  # fmt: skip
    _call(store, "q1", T0, 120, 3, "caller hung up", "sales", _handoff("q1", T0 + 30, "sales"),
          *asked)  # fmt: skip
    _call(store, "q2", T0 + 300, 60, 2, "caller hung up", "support",
          _handoff("q2", T0 + 320, "support"))  # fmt: skip
    store.close()
    r = build(sqlite3.connect(tmp_path / "voicebox.db"), ReportSettings())
    assert r["outcomes"] == {"question answered": 1, "caller hung up": 1}
    assert r["assistants"]["sales"]["outcomes"] == {"question answered": 1}
    assert r["handoffs"]["pairs"] == {"frontdesk->sales": {"count": 1, "useful": 1},
                                      "frontdesk->support": {"count": 1, "useful": 0}}  # fmt: skip
