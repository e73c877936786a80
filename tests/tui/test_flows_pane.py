"""F6 Flows: flow files run against the edited configuration, with a real (tiny) model."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Static

from tui.app import VoiceboxApp
from tui.flows_pane import FlowsPane, ScenarioScreen

# two assistants: the engine warms in seconds on SmolLM2
TINY_TEAM = """\
models: {max_reply_tokens: 16, threads: 1}
team:
  entry: frontdesk
assistants:
  - name: frontdesk
    title: Front desk
    greeting: "Hello, front desk."
    system_prompt: You are the front desk of a small office. Answer briefly.
    stay_examples: ["Hello, good morning.", "What are your opening hours?"]
    tools: [handoff]
    handoffs:
      - target: sales
        condition: the caller asks about pricing, packages, costs or a quote
        examples: ["How much does the premium package cost?", "What are your prices?"]
        announcement: "Let me connect you with sales."
  - name: sales
    title: Sales
    system_prompt: You are the sales assistant. Premium costs 199 dollars a month.
    tools: [handoff]
"""

# `config: starter` is ignored by the TUI: the flows run against the edited team
TWO_SCENARIOS = """\
config: starter
scenarios:
  - name: a greeting stays at the front desk
    turns:
      - caller: "Hello, good afternoon."
        expect: {assistant: frontdesk}
  - name: pricing goes to support
    turns:
      - caller: "Hi, how much does the premium package cost?"
        expect: {assistant: support}
      - caller: "Thanks."
"""


def _status(app: VoiceboxApp) -> str:
    return str(app.query_one("#flow-status", Static).content)


def _rows(app: VoiceboxApp) -> list[list[str]]:
    table = app.query_one("#flow-table", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def _wait(pilot: Pilot[None], pane: FlowsPane, timeout: float = 180.0) -> None:
    end = time.monotonic() + timeout
    while pane.running:
        assert time.monotonic() < end, "the flow run did not finish"
        await pilot.pause(0.1)
    await pilot.pause()


@pytest.fixture()
def flow_files(tmp_path: Path) -> Path:
    (tmp_path / "voicebox.yaml").write_text(TINY_TEAM, encoding="utf-8")
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "two.yaml").write_text(TWO_SCENARIOS, encoding="utf-8")
    (flows / "broken.yaml").write_text("scenarios:\n  - name: no turns\n", encoding="utf-8")
    return flows


@pytest.mark.real
def test_run_pass_and_fail_then_drill_in(
    tmp_path: Path,
    flow_files: Path,
    make_app: Callable[..., VoiceboxApp],
    drive: Callable[..., None],
) -> None:
    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f6")
        await pilot.pause()
        pane = app.query_one(FlowsPane)
        files = app.query_one("#flow-files", OptionList)
        assert [str(files.get_option_at_index(i).prompt) for i in range(2)] == [
            "broken.yaml",
            "two.yaml",
        ]
        files.focus()
        await pilot.press("down", "down", "enter")  # highlight: none -> broken -> two
        assert pane.running
        assert "two.yaml: 2 scenario(s), loading the team..." in _status(app)
        assert "(its config: starter is ignored: running the edited one)" in _status(app)
        pane.run_file(flow_files / "two.yaml")  # again, before the loop could see it finish
        assert "(already running: the new request was ignored)" in _status(app)

        await _wait(pilot, pane)
        assert _rows(app) == [
            ["PASS", "a greeting stays at the front desk", ""],
            ["FAIL", "pricing goes to support", "turn 1: expected assistant support, got sales"],
        ]
        assert _status(app).startswith("two.yaml: 1 passed, 1 failed")

        table = app.query_one("#flow-table", DataTable)
        table.focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ScenarioScreen)
        lines = [line.plain for line in screen.lines]
        assert lines[0] == "turn 1  FAIL  caller: Hi, how much does the premium package cost?"
        assert lines[1] == "  expected: assistant support"
        assert lines[2] == "  got:      assistant sales"
        assert lines[3].startswith("  routing:  fast -> sales: matches 'the caller asks about")
        assert lines[4] == "  handoff:  frontdesk -> sales (fast)"
        assert lines[5].startswith("  reply:    Let me connect you with sales.")
        assert "  mismatch: expected assistant support, got sales" in lines
        second = lines.index("") + 1
        assert lines[second] == "turn 2  ok  caller: Thanks."
        assert lines[second + 1] == "  expected: (nothing)"
        title = str(screen.query_one("#scenario-title", Static).content)
        assert title.startswith("FAIL  pricing goes to support  turn 1: expected assistant")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ScenarioScreen)

        # the TUI's edited config is what runs: drop the sales rule and run again ('r')
        app.doc.set(("assistants", 0, "handoffs"), [])
        app.doc.set(("assistants", 0, "tools"), [])
        table.focus()
        await pilot.press("r")
        await _wait(pilot, pane)
        assert _rows(app)[1] == [
            "FAIL",
            "pricing goes to support",
            "turn 1: expected assistant support, got frontdesk",
        ]

    drive(make_app(), script)


def test_broken_file_invalid_config_and_missing_path(
    tmp_path: Path,
    flow_files: Path,
    make_app: Callable[..., VoiceboxApp],
    drive: Callable[..., None],
) -> None:
    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f6")
        await pilot.pause()
        pane = app.query_one(FlowsPane)
        files = app.query_one("#flow-files", OptionList)
        files.focus()
        await pilot.press("down", "enter")  # broken.yaml
        assert not pane.running
        assert _status(app) == (
            f"{flow_files / 'broken.yaml'}: scenarios.0.turns: Field required (1 problem(s))"
        )
        assert _rows(app) == []

        box = app.query_one("#flow-path", Input)
        box.focus()
        box.value = "nothere.yaml"
        await pilot.press("enter")
        assert _status(app).startswith("cannot read ")
        assert "nothere.yaml" in _status(app)

        app.doc.set(("team", "entry"), "nobody")  # an edit the daemon would refuse
        box.value = "two.yaml"
        await pilot.press("enter")
        assert not pane.running
        assert _status(app).startswith("The configuration has 1 error(s), not running:")
        assert "nobody" in _status(app)

    drive(make_app(), script)


def test_no_flow_files(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Callable[..., None]
) -> None:
    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f6")
        await pilot.pause()
        files = app.query_one("#flow-files", OptionList)
        assert str(files.get_option_at_index(0).prompt) == (
            f"(no flow files in {tmp_path / 'empty'})"
        )
        assert files.get_option_at_index(0).disabled

    drive(make_app(flows_dir=tmp_path / "empty"), script)


@pytest.mark.real
def test_quitting_while_running_stops_the_worker_before_the_engine_closes(
    tmp_path: Path,
    flow_files: Path,
    make_app: Callable[..., VoiceboxApp],
    drive: Callable[..., None],
) -> None:
    panes: list[FlowsPane] = []

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f6")
        await pilot.pause()
        pane = app.query_one(FlowsPane)
        pane.run_file(flow_files / "two.yaml")
        while "running 1/2" not in _status(app):  # the engine is loaded, turn 1 goes on
            await pilot.pause(0.01)
        assert pane.busy
        panes.append(pane)
        # leaving run_test quits the app: it closes the engine the worker is using

    app = make_app()
    drive(app, script)
    assert not panes[0].busy
    assert not app.team.loaded
