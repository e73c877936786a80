"""F8 Office: the calendar, its reminder calls and the office hours edited as a technician would
(typed into the fields, checked as typed, saved), a section emptied field by field leaving the
file, and Ctrl+T testing the connections against a real CalDAV server (Radicale on loopback):
the right password works, a wrong one is said to be wrong."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from radicale_server import Radicale
from test_config_panes import error_text, field, starter_file
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tui.app import VoiceboxApp
from tui.integrations_pane import IntegrationsPane

Drive = Callable[[VoiceboxApp, Any], None]
WEEK = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}


async def type_into(pilot: Pilot[None], pane: IntegrationsPane, label: str, text: str) -> None:
    f = field(pane, label)
    box = f.query_one(Input)
    box.value = text
    await pilot.pause()


async def connection_result(pilot: Pilot[None], pane: IntegrationsPane) -> str:
    out = pane.query_one("#office-tests", Static)
    for _ in range(200):
        shown = str(out.render())
        if shown and not shown.startswith("testing"):
            return shown
        await pilot.pause(0.05)
    raise AssertionError("the connection test did not finish")


def test_a_calendar_typed_in_is_checked_saved_and_tested(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    radicale = Radicale(tmp_path / "radicale").start()
    login = radicale.integration()

    def edit(data: dict[str, Any]) -> None:
        data["team"]["hours"] = WEEK
        data["team"]["timezone"] = "Europe/Berlin"
        kinds = [{"name": "consultation"}]
        data["integrations"] = {"calendar": {"url": "http://127.0.0.1:1/", "appointments": kinds}}

    config = starter_file(tmp_path, edit)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f8")
        await pilot.pause()
        pane = app.query_one(IntegrationsPane)
        assert pane.query_one("#kinds").row_count == 1
        await type_into(pilot, pane, "CalDAV address", "not a url")
        assert "should match pattern" in error_text(field(pane, "CalDAV address"))
        await type_into(pilot, pane, "CalDAV address", str(login["url"]))
        await type_into(pilot, pane, "User", str(login["username"]))
        await type_into(pilot, pane, "Password", "wrong")
        await type_into(pilot, pane, "Calendar name", "office")
        assert error_text(field(pane, "CalDAV address")) == ""
        await pilot.press("ctrl+t")
        assert "refused the login" in await connection_result(pilot, pane)
        await type_into(pilot, pane, "Password", str(login["password"]))
        await pilot.press("ctrl+t")
        shown = await connection_result(pilot, pane)
        assert shown.startswith("✓ calendar"), shown
        await type_into(pilot, pane, "Calling hours", "18:00-10:00")
        assert "ends before it starts" in error_text(field(pane, "Calling hours"))
        await type_into(pilot, pane, "Calling hours", "10:00-12:00")
        await type_into(pilot, pane, "Office name said", "Brightline")
        await type_into(pilot, pane, "Sat (e.g.", "09:00-12:00")
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = yaml.safe_load(config.read_text())
        cal = saved["integrations"]["calendar"]
        assert cal["url"] == login["url"] and cal["password"] == login["password"]
        rem = cal["reminders"]
        assert (rem["call_hours"], rem["office"], rem["enabled"]) == ("10:00-12:00", "Brightline",
                                                                     False)  # fmt: skip
        assert saved["team"]["hours"]["sat"] == "09:00-12:00"
        await type_into(pilot, pane, "Mail server", "mail.office.lan")
        assert pane.doc.get(("integrations", "smtp")) == {"host": "mail.office.lan"}
        await type_into(pilot, pane, "Mail server", "")
        assert pane.doc.get(("integrations", "smtp")) is None  # emptied: gone, not half-set

    try:
        drive(make_app(config), script)
    finally:
        radicale.stop()
