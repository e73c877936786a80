"""The report in the TUI: `o` on the Calls tab shows the last 30 days' figures and charts from
the store (read-only), within 80 columns; Escape goes back."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from appliance.events import ConversationEnded, ConversationStarted, ToolUsed
from appliance.store import Store
from tui.app import VoiceboxApp
from tui.calls_pane import CallTable
from tui.report_screen import ReportScreen, bar, report_lines


def _fill(db: Path) -> None:
    store = Store(db)
    now = time.time() - 3600
    for i, (who, booked) in enumerate([("scheduling", True), ("scheduling", True),
                                       ("support", False), ("frontdesk", False)]):  # fmt: skip
        cid = f"c{i}"
        store.record(ConversationStarted(cid, channel="sip", assistant=who, t=now + i))
        if booked:
            store.record(ToolUsed(
                cid, turn=2, assistant=who, tool="calendar.book", result="ok",
                kind="consultation", start="2026-12-08T10:00:00+01:00",
                end="2026-12-08T11:00:00+01:00", uid=f"u{i}", who="A B",
            ))  # fmt: skip
        elif who == "support":
            store.open_ticket(cid, assistant=who, who="", callback="", summary="down",
                              urgency="urgent", targets=[])  # fmt: skip
        store.record(ConversationEnded(cid, reason="caller hung up", assistant=who, turns=2,
                                       t=now + i + 90))  # fmt: skip
    store.close()


def test_bars_scale_to_the_largest_value() -> None:
    assert bar(10, 10, 8) == "█" * 8
    assert bar(5, 10, 8) == "█" * 4
    assert bar(1, 1000, 8) == "▏"  # a small value still shows
    assert bar(0, 10) == ""


def test_the_report_screen_shows_the_figures_and_charts(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Callable[..., None]
) -> None:
    _fill(tmp_path / "voicebox.db")

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f7")
        await pilot.pause()
        app.query_one(CallTable).focus()  # the call list (the search fields take letters)
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen)
        text = "\n".join(line.plain for line in app.screen.lines)
        assert text.startswith("last 30 days: 4 call(s), 6.0 minutes")
        assert "calls per hour" in text and "outcomes per assistant" in text
        assert " scheduling (2 call(s)" in text
        booked = next(line for line in text.splitlines() if "appointment booked" in line)
        assert booked.rstrip().endswith("2") and "█" in booked
        assert max(len(line) for line in text.splitlines()) <= 80
        shown = str(app.screen.query_one(Static).render())
        assert "appointment booked" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ReportScreen)

    drive(make_app(), script)


def test_no_store_yet_is_said_not_crashed(tmp_path: Path) -> None:
    from appliance.config import ReportSettings
    from tui.report_screen import read_report

    (line,) = read_report(tmp_path / "none.db", ReportSettings())
    assert "no store" in line.plain
    assert report_lines  # the pure part is what the screen shows
