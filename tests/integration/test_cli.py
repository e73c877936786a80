"""The `voicebox` commands as a person runs them (subprocesses, real models)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REQUIRED = {
    "scenario",
    "turn",
    "caller",
    "expected",
    "assistant",
    "handoff",
    "slots",
    "reply",
    "latency_ms",
    "pass",
}


def vb(
    *args: str, stdin: str | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


FLOWS = """
scenarios:
  - name: pricing goes to sales
    turns:
      - caller: "Hi, how much does the premium package cost?"
        expect: {assistant: sales}
  - name: a wrong expectation fails
    turns:
      - caller: "What are your opening hours?"
        expect: {assistant: frontdesk}
      - caller: "I'd like to book an appointment for Tuesday."
        expect: {assistant: support}
"""


def test_test_flows_json_contract(tmp_path: Path) -> None:
    f = tmp_path / "flows.yaml"
    f.write_text(FLOWS, encoding="utf-8")
    res = vb("test-flows", str(f), "--json", "--llm", "smollm2-135m", "--no-store")
    assert res.returncode == 1, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert set(row) >= REQUIRED
    assert rows[0]["handoff"]["from"] == "frontdesk" and rows[0]["handoff"]["to"] == "sales"
    assert rows[0]["handoff"]["path"] in ("fast", "llm")
    assert rows[0]["pass"] is True and rows[0]["turn"] == 1
    assert rows[1]["handoff"] is None
    assert rows[2]["turn"] == 2 and rows[2]["pass"] is False
    assert rows[2]["expected"] == {"assistant": "support"}
    assert "1 passed, 1 failed" in res.stderr


def test_test_flows_text_output(tmp_path: Path) -> None:
    f = tmp_path / "flows.yaml"
    f.write_text(FLOWS, encoding="utf-8")
    res = vb("test-flows", str(f), "--llm", "smollm2-135m", "--no-store")
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "PASS  pricing goes to sales"
    assert lines[1].startswith(
        "FAIL  a wrong expectation fails: turn 2: expected assistant support"
    )
    assert lines[-1] == "1 passed, 1 failed"


def test_a_malformed_flow_file_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("scenarios:\n  - name: x\n    turns: []\n", encoding="utf-8")
    res = vb("test-flows", str(f), "--no-store")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "turns" in res.stderr


def test_chat_shows_speaker_and_handoff(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    res = vb(
        "chat",
        "--llm",
        "smollm2-135m",
        "--db",
        str(db),
        stdin="What are your opening hours?\nHow much does the premium package cost?\n/slots\n",
    )
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "[frontdesk] Thank you for calling Brightline" in out
    assert "↪ handoff frontdesk → sales" in out
    assert "[sales] " in out
    import sqlite3

    n = sqlite3.connect(db).execute("SELECT count(*) FROM handoffs").fetchone()[0]
    assert n == 1


def test_chat_starting_assistant_and_unknown_name() -> None:
    res = vb("chat", "--llm", "smollm2-135m", "--no-store", "--assistant", "german", stdin="/who\n")
    assert "speaking: german" in res.stdout
    bad = vb("chat", "--llm", "smollm2-135m", "--no-store", "--assistant", "ceo", stdin="")
    assert bad.returncode == 1 and "ceo" in bad.stderr and "Traceback" not in bad.stderr


def test_init_writes_a_template_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "team.yaml"
    assert vb("init", "--template", "trade", "-o", str(out)).returncode == 0
    assert vb("config", "check", str(out)).returncode == 0
    again = vb("init", "--template", "saas", "-o", str(out))
    assert again.returncode == 1 and "exists" in again.stderr
