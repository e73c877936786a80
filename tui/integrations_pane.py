"""The Office tab: the office systems the tools use (the CalDAV calendar with its appointment
types and the reminder calls, the office's hours, the address book, the mail server, the
webhooks), each field checked as it is typed, and ctrl+t: test the connections (the checks of
`voicebox integrations check`, on the edited config)."""

from __future__ import annotations

import threading
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Label, Select, Static

from tui.document import Finding, Path_
from tui.fields import BoundField, FieldEdited, as_float, as_int, as_words, text_field
from tui.pane import ConfigChanged, Pane
from tui.record_editor import ListEntries

CAL: Path_ = ("integrations", "calendar")
REM: Path_ = (*CAL, "reminders")
KINDS: Path_ = (*CAL, "appointments")
HOOKS: Path_ = ("integrations", "webhooks")
HOURS: Path_ = ("team", "hours")
SMTP: Path_ = ("integrations", "smtp")
BOOK: Path_ = ("integrations", "contacts")
SECTIONS: tuple[Path_, ...] = (REM, CAL, HOURS, SMTP, (*BOOK, "carddav"), BOOK)
"""Sections dropped from the file when everything in them is emptied (inner ones first)."""
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _words(v: Any) -> str:
    return " ".join(str(x) for x in v) if isinstance(v, list) else ""


def yes_no(label: str, path: Path_) -> BoundField:
    return BoundField(label, path, Select([("no", False), ("yes", True)], allow_blank=False))


def empty(node: Any) -> bool:
    """Nothing a technician typed: empty strings, lists and mappings, False, None."""
    if isinstance(node, dict):
        return all(empty(v) for v in node.values())
    if isinstance(node, list):
        return not node
    return node in (None, "", False)


class OfficeTable(DataTable[str | Text]):
    """A list of the config (appointment types, webhooks): enter edits, n adds, x deletes."""

    BINDINGS = [Binding("n", "add", "New"), Binding("x", "remove", "Delete")]

    def __init__(self, list_path: Path_, id: str) -> None:
        super().__init__(id=id, cursor_type="row")
        self.list_path = list_path

    def action_add(self) -> None:
        self.query_ancestor(IntegrationsPane).edit(self.list_path, None)

    def action_remove(self) -> None:
        self.query_ancestor(IntegrationsPane).remove_entry(self.list_path, self.cursor_row)


class IntegrationsPane(ListEntries, Pane):
    BINDINGS = [Binding("ctrl+t", "test_connections", "Test connections")]
    DEFAULT_CSS = """
    IntegrationsPane VerticalScroll { padding: 0 1; }
    IntegrationsPane .section { text-style: bold; color: $accent; margin-top: 1; }
    IntegrationsPane OfficeTable { height: auto; max-height: 6; }
    IntegrationsPane #office-errors { color: $error; height: auto; }
    IntegrationsPane #office-tests { height: auto; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.calendar = [
            text_field("CalDAV address (e.g. http://192.168.1.10:5232/; empty: no calendar)",
                       (*CAL, "url")),
            text_field("User", (*CAL, "username")),
            text_field("Password", (*CAL, "password"), password=True),
            text_field("Calendar name (empty: the account's first)", (*CAL, "calendar")),
            text_field("Request timeout (s)", (*CAL, "timeout_s"), parse=as_float),
            text_field("Book up to (days ahead)", (*CAL, "days_ahead"), parse=as_int),
            text_field("Earliest booking (minutes from now)", (*CAL, "notice_min"), parse=as_int),
        ]  # fmt: skip
        self.reminders = [
            yes_no("Reminder calls the day before (opt-in)", (*REM, "enabled")),
            text_field("Office name said on the call", (*REM, "office")),
            text_field("Days before", (*REM, "days_before"), parse=as_int),
            text_field("Calling hours (e.g. 10:00-18:00)", (*REM, "call_hours")),
            text_field("Dial pattern (sip:{number}@PBX; empty: via the first account)",
                       (*REM, "dial")),
            text_field("Attempts when nobody answers", (*REM, "attempts"), parse=as_int),
        ]  # fmt: skip
        self.hours = [
            text_field(f"{d.capitalize()} (e.g. 09:00-17:00; empty: closed)", (*HOURS, d))
            for d in DAYS
        ]
        self.contacts = [
            text_field("Contacts file (CSV or vCard, next to the config)", (*BOOK, "file")),
            text_field("or CardDAV address book address", (*BOOK, "carddav", "url")),
            text_field("CardDAV user", (*BOOK, "carddav", "username")),
            text_field("CardDAV password", (*BOOK, "carddav", "password"), password=True),
        ]
        self.smtp = [
            text_field("Mail server (host; empty: no mail)", (*SMTP, "host")),
            text_field("Port (25 or 587)", (*SMTP, "port"), parse=as_int),
            yes_no("STARTTLS", (*SMTP, "starttls")),
            text_field("Login user (empty: none)", (*SMTP, "username")),
            text_field("Password", (*SMTP, "password"), password=True),
            text_field("From address", (*SMTP, "sender")),
            text_field("To (addresses, space separated)", (*SMTP, "to"), parse=as_words,
                       show=_words),
        ]  # fmt: skip

    @property
    def fields(self) -> list[BoundField]:
        return self.calendar + self.reminders + self.hours + self.contacts + self.smtp

    def compose(self) -> ComposeResult:
        with VerticalScroll(can_focus=False):
            yield Label("ctrl+t test connections · lists: enter edit · n new · x delete",
                        classes="hint")  # fmt: skip
            yield Static("", id="office-tests", markup=False)
            yield Static("Calendar (CalDAV)", classes="section")
            yield from self.calendar
            yield Static("Appointment types", classes="section")
            yield OfficeTable(KINDS, id="kinds")
            yield Static("Reminder calls", classes="section")
            yield from self.reminders
            yield Static("Office hours (the calendar books inside them)", classes="section")
            yield from self.hours
            yield Static("Known callers (address book)", classes="section")
            yield from self.contacts
            yield Static("Mail server (new tickets are mailed)", classes="section")
            yield from self.smtp
            yield Static("Webhooks (tickets and leads POSTed as JSON)", classes="section")
            yield OfficeTable(HOOKS, id="hooks")
            yield Static("", id="office-errors", markup=False)

    def enter(self) -> None:
        self.calendar[0].editor.focus()
        self.call_after_refresh(self.query_one(VerticalScroll).scroll_home, animate=False)

    def on_mount(self) -> None:
        self.query_one("#kinds", OfficeTable).add_columns("Type", "Minutes", "Buffer", "Offered by")
        self.query_one("#hooks", OfficeTable).add_columns("Name", "Address", "Signed", "Notices")
        self.reload()

    def reload(self) -> None:
        if not self.doc.readable:
            self.query_one("#office-errors", Static).update(
                "The config file cannot be edited:\n" + "\n".join(self.doc.load_errors)
            )
            return
        kinds = self.query_one("#kinds", OfficeTable)
        kinds.clear()
        for k in self.doc.get(KINDS, []) or []:
            kinds.add_row(
                Text(str(k.get("name", "?"))), str(k.get("duration_min", 60)),
                str(k.get("buffer_min", 0)), Text(_words(k.get("assistants")) or "(all)"),
            )  # fmt: skip
        hooks = self.query_one("#hooks", OfficeTable)
        hooks.clear()
        for h in self.doc.get(HOOKS, []) or []:
            hooks.add_row(
                Text(str(h.get("name", "?"))), Text(str(h.get("url", ""))),
                "yes" if h.get("secret") else "no", Text(_words(h.get("notices")) or "all"),
            )  # fmt: skip
        values = self.doc.shown([f.path for f in self.fields])
        for f, value in zip(self.fields, values, strict=True):
            f.load(value)
        self.refresh_findings()

    def refresh_findings(self) -> list[Finding]:
        _, errors = self.doc.validate()
        for f in self.fields:
            f.errors(errors)
        mine = [e for e in errors if e.under(("integrations",)) or e.under(HOURS)]
        self.query_one("#office-errors", Static).update("\n".join(f"✗ {e}" for e in mine))
        return errors

    def on_field_edited(self, event: FieldEdited) -> None:
        self.doc.set(event.field.path, event.value)
        for section in SECTIONS:  # all emptied: the section goes (no half-configured system)
            node = self.doc.get(section)
            if isinstance(node, dict) and empty(node):
                self.doc.set(section, None)
        self.refresh_findings()
        self.app_changed()

    def on_config_changed(self, event: ConfigChanged) -> None:
        if event.origin is not self:
            self.reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, OfficeTable):
            self.edit(event.data_table.list_path, event.cursor_row)

    # -- list entries -----------------------------------------------------------------------

    def _kind_fields(self, base: Path_) -> list[BoundField]:
        return [
            text_field("Name (as said to callers, e.g. consultation)", (*base, "name")),
            text_field("Minutes", (*base, "duration_min"), parse=as_int),
            text_field("Buffer after it (minutes)", (*base, "buffer_min"), parse=as_int),
            text_field("Offered by (assistants; empty: all with the calendar tool)",
                       (*base, "assistants"), parse=as_words, show=_words),
            text_field("Other words callers use (space separated)", (*base, "words"),
                       parse=as_words, show=_words),
        ]  # fmt: skip

    def _hook_fields(self, base: Path_) -> list[BoundField]:
        return [
            text_field("Name (e.g. crm)", (*base, "name")),
            text_field("Address (http://...)", (*base, "url")),
            text_field("Signing secret (empty: unsigned)", (*base, "secret"), password=True),
            text_field("Notices (ticket lead)", (*base, "notices"), parse=as_words, show=_words),
        ]

    def edit(self, list_path: Path_, index: int | None) -> None:
        if list_path == KINDS:
            fields, title = self._kind_fields, "Appointment type"
            template: dict[str, Any] = {"name": "", "duration_min": 60}
        else:
            fields, title = self._hook_fields, "Webhook"
            template = {"name": "", "url": ""}

        self.edit_entry(list_path, index, fields, title, template)


    # -- test connections -------------------------------------------------------------------

    def action_test_connections(self) -> None:
        cfg, errors = self.doc.validate()
        out = self.query_one("#office-tests", Static)
        if cfg is None:
            first = f": {errors[0]}" if errors else ""
            out.update(f"✗ fix the config first ({len(errors)} error(s)){first}")
            return
        out.update("testing the connections...")
        cfg = self.doc.resolved(cfg)
        threading.Thread(target=self._test, args=(cfg,), name="tui-office", daemon=True).start()

    def _test(self, cfg: Any) -> None:
        from appliance.tools.checks import check_all

        try:
            results = check_all(cfg.integrations)
        except Exception as err:  # a bug must not kill the TUI
            lines = [f"✗ the check failed: {err}"]
        else:
            lines = [f"{'✓' if ok else '✗'} {name}: {said}" for name, ok, said in results]
        text = "\n".join(lines) or "no office systems configured"
        self.app.call_from_thread(self._tested, text, all(line.startswith("✓") for line in lines))

    def _tested(self, text: str, ok: bool) -> None:
        """The results at the top of the tab and as a notification (the top may be scrolled
        away)."""
        self.query_one("#office-tests", Static).update(text)
        self.notify(text, severity="information" if ok else "error", timeout=8)
