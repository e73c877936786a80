"""F7 Calls: a real store file written by appliance.store.Store, read back through the TUI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from appliance.events import (
    AssistantReply,
    CallerUtterance,
    ConversationEnded,
    ConversationStarted,
    HandoffStarted,
    RoutingDecided,
    SlotsUpdated,
)
from appliance.store import Store
from tui.app import VoiceboxApp
from tui.calls_pane import CallsPane, TranscriptScreen

MAY1 = datetime(2024, 5, 1, 10, 0).timestamp()
MAY2 = datetime(2024, 5, 2, 15, 30).timestamp()


def _say(store: Store, cid: str, t: float, turn: int, who: str, caller: str, reply: str) -> None:
    store.record(CallerUtterance(cid, turn=turn, assistant=who, text=caller, t=t))
    store.record(
        AssistantReply(
            cid, turn=turn, assistant=who, text=reply, first_token_ms=1.0, total_ms=2.0, t=t + 1
        )
    )


def _decide(
    store: Store,
    cid: str,
    t: float,
    turn: int,
    who: str,
    outcome: str,
    target: str | None,
    reason: str,
) -> None:
    store.record(
        RoutingDecided(
            cid,
            turn=turn,
            assistant=who,
            outcome=outcome,
            target=target,
            path="fast",
            reason=reason,
            scores={},
            latency_ms=3.0,
            t=t,
        )
    )


def record_calls(db: Path) -> None:
    """c1 (May 1): frontdesk > sales; c2 (May 2): support, refused, transferred; c3 (May 2)."""
    store = Store(db)
    t = MAY1
    store.record(
        ConversationStarted(
            "c1", channel="sip", assistant="frontdesk", caller="Maria <sip:201@pbx>", t=t
        )
    )
    store.record(
        AssistantReply(
            "c1",
            turn=0,
            assistant="frontdesk",
            text="Hello, front desk.",
            first_token_ms=0.0,
            total_ms=0.0,
            t=t,
        )
    )
    _decide(store, "c1", t + 2, 1, "frontdesk", "stay", None, "greeting")
    _say(store, "c1", t + 2, 1, "frontdesk", "Hi, I am Maria Lopez.", "Nice to meet you.")
    _decide(store, "c1", t + 5, 2, "frontdesk", "handoff", "sales", "pricing question")
    store.record(
        CallerUtterance(
            "c1", turn=2, assistant="frontdesk", text="How much is the premium package?", t=t + 5
        )
    )
    store.record(
        HandoffStarted(
            "c1",
            turn=2,
            from_assistant="frontdesk",
            to_assistant="sales",
            announcement="Connecting you to sales.",
            reason="pricing question",
            path="fast",
            scores={"sales": 0.9},
            history="full",
            t=t + 5,
        )
    )
    store.record(
        AssistantReply(
            "c1",
            turn=2,
            assistant="sales",
            text="Premium is 199 a month.",
            first_token_ms=1.0,
            total_ms=2.0,
            t=t + 6,
        )
    )
    store.record(
        SlotsUpdated("c1", turn=2, slots={"name": "Maria Lopez"}, changed=["name"], t=t + 6)
    )
    store.record(
        ConversationEnded("c1", reason="caller hung up", assistant="sales", turns=2, t=t + 30)
    )

    t = MAY2
    store.record(
        ConversationStarted(
            "c2", channel="sip", assistant="support", caller="Bob <sip:305@pbx>", t=t
        )
    )
    _decide(store, "c2", t + 1, 1, "support", "refused", "sales", "hop limit reached")
    _say(store, "c2", t + 1, 1, "support", "Actually, what does it cost?", "Let me help here.")
    store.record(
        ConversationEnded(
            "c2", reason="transferred to Tom (blind)", assistant="support", turns=1, t=t + 20
        )
    )

    t = MAY2 + 60
    store.record(ConversationStarted("c3", channel="text", assistant="frontdesk", t=t))
    _say(store, "c3", t + 1, 1, "frontdesk", "What are your hours?", "Nine to five.")
    store.close()


def _rows(app: VoiceboxApp) -> list[list[object]]:
    table = app.query_one("#call-table", DataTable)
    return [table.get_row_at(i) for i in range(table.row_count)]


def _status(app: VoiceboxApp) -> str:
    return str(app.query_one("#call-status", Static).content)


async def _type(pilot: Pilot[None], app: VoiceboxApp, widget: str, text: str) -> None:
    box = app.query_one(widget, Input)
    box.value = text
    await pilot.pause()


def test_search_by_caller_assistant_and_date(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Callable[..., None]
) -> None:
    record_calls(tmp_path / "voicebox.db")
    before = (tmp_path / "voicebox.db").read_bytes()

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f7")
        await pilot.pause()
        rows = _rows(app)
        assert [r[1] for r in rows] == ["-", "Bob <sip:305@pbx>", "Maria <sip:201@pbx>"]
        assert rows[2] == [
            "2024-05-01 10:00",
            "Maria <sip:201@pbx>",
            "sip",
            "frontdesk > sales",
            "2",
            "caller hung up",
        ]
        assert rows[1][5] == "transferred to Tom (blind)"
        assert "3 call(s), all dates" in _status(app)

        await _type(pilot, app, "#call-caller", "maria")
        assert [r[0] for r in _rows(app)] == ["2024-05-01 10:00"]
        await _type(pilot, app, "#call-caller", "")

        await _type(pilot, app, "#call-assistant", "sales")  # reached by a handoff
        assert [r[1] for r in _rows(app)] == ["Maria <sip:201@pbx>"]
        await _type(pilot, app, "#call-assistant", "FRONTDESK")
        assert len(_rows(app)) == 2
        await _type(pilot, app, "#call-assistant", "")

        await _type(pilot, app, "#call-date", "2024-05-02")
        assert [r[1] for r in _rows(app)] == ["-", "Bob <sip:305@pbx>"]
        await _type(pilot, app, "#call-date", "2024-05-0")  # half typed: the table stays
        assert "YYYY-MM-DD" in _status(app)
        assert len(_rows(app)) == 2
        await _type(pilot, app, "#call-date", "2024-04-30")
        assert _rows(app) == []
        assert "0 call(s), 2024-04-30" in _status(app)

    drive(make_app(), script)
    assert (tmp_path / "voicebox.db").read_bytes() == before


def test_open_a_call_shows_the_handoff_between_the_right_turns(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Callable[..., None]
) -> None:
    record_calls(tmp_path / "voicebox.db")

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        app.action_show("calls")
        await pilot.pause()
        app.query_one("#call-date", Input).focus()
        await pilot.press("tab")  # date -> caller
        assert app.focused is app.query_one("#call-caller", Input)
        await pilot.press(*"maria", "enter")  # Enter: from the search box into the table
        assert isinstance(app.focused, DataTable)
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TranscriptScreen)
        lines = [line.plain for line in screen.lines]
        assert lines == [
            "frontdesk  Hello, front desk.",
            "caller     Hi, I am Maria Lopez.",
            "frontdesk  Nice to meet you.",
            "caller     How much is the premium package?",
            '  >> handoff frontdesk -> sales (fast): pricing question  "Connecting you to sales."',
            "sales      Premium is 199 a month.",
            "-- ended: caller hung up (with sales, 2 turn(s))",
            "slots: name=Maria Lopez",
        ]
        assert "Maria <sip:201@pbx>" in str(screen.query_one("#transcript-title", Static).content)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen.query_one(CallsPane), CallsPane)

        # the transferred call: the refused routing sits after the caller line
        await _type(pilot, app, "#call-caller", "bob")
        app.query_one("#call-table", DataTable).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TranscriptScreen)
        assert [line.plain for line in app.screen.lines] == [
            "caller   Actually, what does it cost?",
            "  ! routing refused to sales (fast): hop limit reached",
            "support  Let me help here.",
            "-- ended: transferred to Tom (blind) (with support, 1 turn(s))",
            "slots: none collected",
        ]

    drive(make_app(), script)


def test_r_refreshes_after_a_new_call(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Callable[..., None]
) -> None:
    db = tmp_path / "voicebox.db"
    record_calls(db)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f7")
        await pilot.pause()
        assert len(_rows(app)) == 3
        store = Store(db)  # the daemon records a call while the TUI is open
        store.record(ConversationStarted("c4", channel="text", assistant="frontdesk", caller="Zoe"))
        store.close()
        app.query_one("#call-table", DataTable).focus()
        await pilot.press("r")
        await pilot.pause()
        assert _rows(app)[0][1] == "Zoe"
        assert _rows(app)[0][5] == "in progress"

    drive(make_app(), script)


def test_missing_and_corrupt_store(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Callable[..., None]
) -> None:
    missing = tmp_path / "nowhere" / "voicebox.db"
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not sqlite at all\n" * 100)
    empty = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(empty).execute("CREATE TABLE x (y)").connection.close()

    async def look(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f7")
        await pilot.pause()
        assert _rows(app) == []

    async def missing_script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await look(app, pilot)
        assert _status(app) == f"no calls recorded yet ({missing})"
        assert not missing.exists()

    async def corrupt_script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await look(app, pilot)
        assert _status(app) == f"cannot read the call store {corrupt}: file is not a database"

    async def foreign_script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await look(app, pilot)
        assert "is not a voicebox call store (no such table: conversations)" in _status(app)

    drive(make_app(db=missing), missing_script)
    drive(make_app(db=corrupt), corrupt_script)
    drive(make_app(db=empty), foreign_script)
