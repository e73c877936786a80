"""Messages for the team (take_message) in the TUI: the call log marks the call, the transcript
shows who, the callback number and what, the dashboard counts today's."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from textual.pilot import Pilot
from textual.widgets import DataTable, SelectionList, Static

from appliance.config import template_text
from appliance.events import (
    CallerUtterance,
    ConversationEnded,
    ConversationStarted,
    MessageTaken,
)
from appliance.store import Store
from tui.app import VoiceboxApp
from tui.assistants import AssistantsPane, TeamList
from tui.calls_pane import CallLog, Search, TranscriptScreen


def _record(db: Path) -> float:
    now = time.time()
    store = Store(db)
    store.record(
        ConversationStarted("m1", channel="sip", assistant="support", caller="<sip:201@pbx>", t=now)
    )
    store.record(CallerUtterance("m1", turn=1, assistant="support", text="Printer broken.", t=now))
    store.record(
        MessageTaken(
            "m1", assistant="support", who="Ann Lee", callback="5550142", what="printer", t=now
        )
    )
    store.record(ConversationEnded("m1", reason="caller hung up", assistant="support", turns=1))
    store.record(ConversationStarted("m2", channel="sip", assistant="frontdesk", t=now + 1))
    store.close()
    return now


def test_the_call_log_and_the_transcript_show_the_message(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Callable[..., None]
) -> None:
    _record(tmp_path / "voicebox.db")

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f7")
        await pilot.pause()
        table = app.query_one("#call-table", DataTable)
        ends = [table.get_row_at(i)[5] for i in range(table.row_count)]
        assert ends == ["in progress", "msg · caller hung up"]
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TranscriptScreen)
        last = app.screen.lines[-1].plain
        assert last.startswith("message for the team (")
        assert last.endswith("taken by support): Ann Lee, call back 5550142: printer")

    drive(make_app(), script)


def test_the_dashboard_counts_todays_messages(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Callable[..., None]
) -> None:
    _record(tmp_path / "voicebox.db")

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.pause()
        box = str(app.query_one("#dash-box", Static).content)
        assert "2 calls" in box and "messages: 1" in box

    drive(make_app(), script)


def test_a_store_from_before_take_message_still_reads(tmp_path: Path) -> None:
    db = tmp_path / "voicebox.db"
    _record(db)
    with sqlite3.connect(db) as raw:
        raw.execute("DROP TABLE messages")
    raw.close()
    log = CallLog(db)
    assert log.today()["messages"] == 0
    assert log.conversation("m1")["message"] is None
    assert not any(c["has_message"] for c in log.search(Search()))


def test_the_tool_list_offers_only_tools_with_code(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Callable[..., None]
) -> None:
    data = yaml.safe_load(template_text("starter"))
    names = [a["name"] for a in data["assistants"]]
    old = data["assistants"][names.index("scheduling")]
    old["tools"] = ["handoff", "end_call"]  # a config written before the registry
    path = tmp_path / "voicebox.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f2")
        await pilot.pause()
        pane = app.query_one(AssistantsPane)
        app.query_one(TeamList).index = names.index("scheduling")
        await pilot.pause()
        tools = app.query_one(SelectionList)
        offered = [tools.get_option_at_index(i).value for i in range(tools.option_count)]
        assert offered == [
            "handoff", "transfer_to_human", "take_message", "tickets", "leads", "calendar"
        ]
        assert "has no implementation on this box" in str(
            app.query_one("#rules-error", Static).render()
        )
        tools.select("take_message")
        await pilot.pause()
        # the planned tool stays in the file until the technician removes it (lint says so)
        assert pane.assistants[pane.index]["tools"] == ["handoff", "take_message", "end_call"]

    drive(make_app(path), script)
