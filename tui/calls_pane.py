"""F7 Calls: the call log. Search the store by date, caller and assistant; Enter opens a call's
transcript with its handoffs, refused routings, slots and the message for the team (take_message;
a call with one shows "msg" in the end column).

The store is opened read-only (an SQLite `mode=ro` URI) for each search and closed again, so the
TUI never changes it and never holds it open while the daemon writes.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from pydantic import ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from appliance.config import ReportSettings
from appliance.store.call_log import LIMIT, CallLog, Search, StoreUnreadable
from tui.pane import Pane

_LOGGER = logging.getLogger(__name__)
__all__ = [
    "CallLog",
    "Search",
    "StoreUnreadable",
    "message_text",
    "parse_day",
    "ticket_text",
    "transcript",
]
# (label, width): fits 80 columns with the start of the end reason; the rest scrolls
COLUMNS = (
    ("started", 16),
    ("caller", 13),
    ("via", 5),
    ("assistants", 17),
    ("turns", 5),
    ("end", None),
)


def parse_day(text: str, today: date | None = None) -> date | None:
    """'' -> None (all dates), 'today', 'yesterday' or YYYY-MM-DD; ValueError otherwise."""
    text = text.strip().lower()
    today = today or date.today()
    if not text:
        return None
    if text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    return datetime.strptime(text, "%Y-%m-%d").date()


def _stamp(t: float | None) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") if t else ""


def message_text(msg: dict[str, Any]) -> str:
    """One message for the team, as the transcript shows it."""
    who = msg.get("who") or "(no name given)"
    number = msg.get("callback") or "(no number)"
    return (
        f"message for the team ({_stamp(msg.get('created_at'))}, taken by {msg['assistant']}): "
        f"{who}, call back {number}: {msg.get('what') or '(no request stated)'}"
    )


def ticket_text(t: dict[str, Any]) -> str:
    """The call's ticket (the tickets tool), as the transcript shows it."""
    who = t.get("who") or "(no name given)"
    number = t.get("callback") or "(no number)"
    return (
        f"ticket {t['number']} ({_stamp(t.get('created_at'))}, {t['urgency']}, opened by "
        f"{t['assistant']}): {who}, call back {number}: {t['summary']}"
    )


def transcript(conv: dict[str, Any]) -> list[Text]:
    """The call in order: caller and assistant lines, with handoffs and refused routings placed
    after the caller line that caused them, then how it ended and the collected slots."""
    items: list[tuple[int, int, int, Text]] = []
    width = max([len("caller"), *(len(t["assistant"]) for t in conv["turns_list"])])
    for i, t in enumerate(conv["turns_list"]):
        who = "caller" if t["role"] == "caller" else t["assistant"]
        line = Text.assemble((f"{who:<{width}}  ", "bold" if t["role"] == "caller" else "cyan"))
        line.append(t["text"])
        if t["cut_off"]:
            line.append("  (cut off)", "dim")
        items.append((t["turn"], 0 if t["role"] == "caller" else 3, i, line))
    handed = {h["turn"] for h in conv["handoffs"]}
    for i, d in enumerate(conv["decisions"]):
        if d["outcome"] == "handoff" and d["turn"] in handed:
            continue  # shown as the handoff itself
        target = f" to {d['target']}" if d["target"] else ""
        line = Text(f"  ! routing {d['outcome']}{target} ({d['path']}): {d['reason']}", "yellow")
        items.append((d["turn"], 1, i, line))
    for i, h in enumerate(conv["handoffs"]):
        line = Text(
            f"  >> handoff {h['from_assistant']} -> {h['to_assistant']} "
            f"({h['path']}): {h['reason']}",
            "green",
        )
        if h.get("announcement"):
            line.append(f'  "{h["announcement"]}"', "dim")
        items.append((h["turn"], 2, i, line))
    out = [line for *_, line in sorted(items, key=lambda x: x[:3])]
    end = conv.get("end_reason") or "not ended (in progress, or the daemon stopped)"
    last = conv.get("final_assistant") or conv["entry_assistant"]
    out.append(Text(f"-- ended: {end} (with {last}, {conv['turns']} turn(s))", "bold"))
    slots = conv.get("slots") or {}
    if slots:
        out.append(Text("slots: " + ", ".join(f"{k}={v}" for k, v in slots.items())))
    else:
        out.append(Text("slots: none collected", "dim"))
    msg = conv.get("message")
    if msg:
        out.append(Text(message_text(msg), "bold magenta"))
    ticket = conv.get("ticket")
    if ticket:
        style = "bold red" if ticket["urgency"] == "urgent" else "bold"
        out.append(Text(ticket_text(ticket), style))
    return out


class TranscriptScreen(Screen[None]):
    """One call, read-only. Escape goes back to the log."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, conv: dict[str, Any]) -> None:
        super().__init__()
        self.conv = conv
        self.lines = transcript(conv)

    def compose(self) -> ComposeResult:
        c = self.conv
        length = ""
        if c.get("ended_at"):
            length = f", {round(c['ended_at'] - c['started_at'])} s"
        title = (
            f"{_stamp(c['started_at'])}{length}  {c['caller'] or '(no caller id)'}"
            f"  via {c['channel']}  [{c['id']}]"
        )
        yield Static(Text(title, "bold"), id="transcript-title")
        with VerticalScroll(id="transcript-body", can_focus=True):
            yield Static(Text("\n").join(self.lines), id="transcript-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#transcript-body").focus()


class CallTable(DataTable[str]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh_calls", "Refresh"),
        Binding("o", "open_report", "Report"),
    ]

    def action_refresh_calls(self) -> None:
        pane = next(a for a in self.ancestors if isinstance(a, CallsPane))
        pane.refresh_calls()

    def action_open_report(self) -> None:
        next(a for a in self.ancestors if isinstance(a, CallsPane)).open_report()


class CallsPane(Pane):
    """Search form, status line and the calls table."""

    DEFAULT_CSS = """
    CallsPane #call-search { height: 1; margin: 1 0 0 0; }
    CallsPane #call-search Input { margin: 0 1 0 0; }
    CallsPane #call-date { width: 16; }
    CallsPane #call-caller { width: 1fr; }
    CallsPane #call-assistant { width: 1fr; }
    CallsPane #call-status { height: auto; max-height: 2; }
    CallsPane #call-table { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(id="call-search"):
            yield Input(placeholder="date YYYY-MM-DD", id="call-date", compact=True)
            yield Input(placeholder="caller contains", id="call-caller", compact=True)
            yield Input(placeholder="assistant", id="call-assistant", compact=True)
        yield Static("", id="call-status")
        table = CallTable(id="call-table", cursor_type="row", zebra_stripes=True)
        for label, width in COLUMNS:
            table.add_column(label, width=width, key=label)
        yield table

    @property
    def table(self) -> CallTable:
        return self.query_one(CallTable)

    def _status(self, text: str, level: str = "") -> None:
        status = self.query_one("#call-status", Static)
        status.update(Text(text))
        status.set_classes(level)

    def search(self) -> Search | None:
        try:
            day = parse_day(self.query_one("#call-date", Input).value)
        except ValueError:
            return None
        return Search(
            day,
            self.query_one("#call-caller", Input).value,
            self.query_one("#call-assistant", Input).value,
        )

    def refresh_calls(self) -> None:
        """Run the search again and fill the table (keeps the cursor on the same call)."""
        s = self.search()
        if s is None:
            self._status("date: YYYY-MM-DD, today, yesterday, or empty for all dates", "error")
            return
        table = self.table
        keep: str | None = None
        if table.row_count and table.cursor_row >= 0:
            keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear()
        try:
            calls = CallLog(self.vapp.db_path).search(s)
        except StoreUnreadable as err:
            self._status(str(err), "error" if self.vapp.db_path.exists() else "hint")
            return
        for c in calls:
            table.add_row(
                _stamp(c["started_at"]),
                c["caller"] or "-",
                c["channel"],
                c["path"],
                str(c["turns"]),
                ("msg · " if c.get("has_message") else "") + (c["end_reason"] or "in progress"),
                key=c["id"],
            )
        when = s.day.isoformat() if s.day else "all dates"
        more = f" (newest {LIMIT} shown)" if len(calls) >= LIMIT else ""
        self._status(f"{len(calls)} call(s), {when}{more}  Enter: open, r: refresh, o: report",
                     "hint")  # fmt: skip
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))

    def on_show(self) -> None:
        self.refresh_calls()

    def open_report(self) -> None:
        """The report of the last 30 days (tui/report_screen.py), with the config's report:
        settings (the defaults where the file has none or a broken one)."""
        from tui.report_screen import ReportScreen, read_report

        try:
            settings = ReportSettings.model_validate(self.vapp.doc.get(("report",), {}) or {})
        except ValidationError:
            settings = ReportSettings()
        self.app.push_screen(ReportScreen(read_report(self.vapp.db_path, settings)))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.refresh_calls()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        cid = event.row_key.value
        if cid is None:
            return
        try:
            conv = CallLog(self.vapp.db_path).conversation(cid)
        except StoreUnreadable as err:
            self._status(str(err), "error")
            return
        self.app.push_screen(TranscriptScreen(conv))
