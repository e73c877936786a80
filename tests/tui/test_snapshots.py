"""SVG snapshots of the main screens at 80x24 and 120x40 (pytest-textual-snapshot).

After an intended change of the look: `pytest tests/tui/test_snapshots.py --snapshot-update`,
then look at the new SVGs in tests/tui/__snapshots__/ before committing them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from textual.pilot import Pilot

from appliance.config import template_text
from tui.app import VoiceboxApp
from tui.dashboard import Dashboard

SIZES = [(80, 24), (120, 40)]
NOWHERE = Path("/nonexistent/voicebox")


async def idle(pilot: Pilot[None]) -> None:
    """Until no worker runs (an exclusive worker cancels its predecessor: not a failure)."""
    for _ in range(400):
        if not any(w.is_running for w in pilot.app.workers):
            return
        await pilot.pause(0.05)
    raise AssertionError("workers still running after 20 s")


@pytest.fixture()
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> VoiceboxApp:
    """The starter team, no daemon, no store, and a box whose CPU and memory hold still."""
    monkeypatch.setattr("tui.dashboard.memory", lambda: (3.1, 23.4))
    monkeypatch.setattr("tui.dashboard.load1", lambda: 0.42)
    monkeypatch.setattr("tui.dashboard.CpuMeter.percent", lambda self: 12.0)
    config = tmp_path / "voicebox.yaml"
    # without the template's comments: a file with comments opens with a warning toast
    data = yaml.safe_load(template_text("starter"))
    config.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    a = VoiceboxApp(
        config,
        control=NOWHERE / "control.sock",
        db=NOWHERE / "voicebox.db",
        flows_dir=NOWHERE / "flows",
    )
    a.sub_title = "/etc/voicebox/voicebox.yaml"
    return a


async def settle(pilot: Pilot[None]) -> None:
    await idle(pilot)
    dash = pilot.app.query_one(Dashboard)
    for _ in range(100):
        if "not running" in dash.down_reason:
            break
        await pilot.pause(0.05)
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]  # a blinking cursor: flaky
    await pilot.pause(0.5)  # the dashboard redraws every 0.25 s


def shot(keys: tuple[str, ...]) -> Callable[[Pilot[None]], Any]:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await settle(pilot)

    return run_before


SCREENS = {
    "dashboard_no_daemon": (),
    "assistants_sales": ("f2", "down"),
    "lint": ("f3",),
    "sip": ("f4",),
    "console": ("f5",),
    "flows": ("f6",),
    "calls_no_store": ("f7",),
    "office": ("f8",),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(app: VoiceboxApp, snap_compare: Any, screen: str, size: tuple[int, int]) -> None:
    assert snap_compare(app, terminal_size=size, run_before=shot(SCREENS[screen]))


def test_rule_editor(app: VoiceboxApp, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f2")
        await pilot.pause()
        from tui.assistants import AssistantsPane

        pilot.app.query_one(AssistantsPane).edit_rule(2)
        await pilot.pause(0.3)
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
