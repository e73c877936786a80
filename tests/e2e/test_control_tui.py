"""The TUI's dashboard against a real box's control socket: a live call shows up within 1 s of
the caller's INVITE and leaves when the call ends."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sipkit import Kamailio, Proc, silence_wav, start_call
from textual.widgets import DataTable, Static

from tui.app import VoiceboxApp
from tui.dashboard import Dashboard

pytestmark = pytest.mark.e2e


def test_dashboard_shows_a_live_call_within_a_second(
    control_box: tuple[Proc, Path], kamailio: Kamailio, sipdir: Path
) -> None:
    _box, sock = control_box
    config = sipdir / "control.yaml"
    app = VoiceboxApp(config, control=sock, db=sipdir / "tui-dash.db", flows_dir=sipdir)
    result: dict[str, float] = {}

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            dash = app.query_one(Dashboard)
            for _ in range(200):
                if dash.up:
                    break
                await pilot.pause(0.05)
            await pilot.pause(0.5)
            daemon = str(app.query_one("#dash-daemon", Static).render())
            assert "● running" in daemon and "smollm2-135m" in daemon
            assert "registered" in str(app.query_one("#dash-accounts", Static).render())
            table = app.query_one("#live-calls", DataTable)
            assert table.row_count == 0

            caller = start_call(
                f"sip:103@{kamailio.host}", silence_wav(sipdir, 6), sipdir / "tui-dash.wav",
                "--tail", "0", log=sipdir / "tui-dash-caller.log",
            )  # fmt: skip
            calling = await asyncio.to_thread(caller.wait_for, lambda e: e["type"] == "calling", 30)
            sent = caller.seen_at(calling)
            for _ in range(400):
                if table.row_count:
                    result["shown_after_s"] = time.monotonic() - sent
                    break
                await pilot.pause(0.02)
            row = [str(c) for c in table.get_row_at(0)]
            assert "phone@" in row[1] and row[3] == "frontdesk", row
            timeline = str(app.query_one("#dash-timeline", Static).render())
            assert "frontdesk answers" in timeline

            done = await asyncio.to_thread(caller.wait_for, lambda e: e["type"] == "done", 30)
            assert done["connected"]
            assert await asyncio.to_thread(caller.stop) == 0
            for _ in range(300):
                if table.row_count == 0:
                    break
                await pilot.pause(0.05)
            assert table.row_count == 0, "the ended call left the dashboard"
            totals = str(app.query_one("#dash-totals", Static).render())
            assert "Since start:" in totals and " 0 calls" not in totals

    asyncio.run(main())
    assert result["shown_after_s"] < 1.0, result
