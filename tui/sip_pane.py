"""The SIP tab: accounts at the PBX (registrar, credentials masked, transport, entry assistant),
listening and limits, the allowlist, and the people calls can be transferred to."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Label, Static

from tui.document import Finding, Path_
from tui.fields import (
    BoundField,
    FieldEdited,
    as_int,
    as_words,
    select_field,
    text_field,
)
from tui.pane import ConfigChanged, Pane
from tui.record_editor import ListEntries

ACCOUNTS: Path_ = ("sip", "accounts")
HUMANS: Path_ = ("team", "human_extensions")


def _words(v: Any) -> str:
    return " ".join(str(x) for x in v) if isinstance(v, list) else ""


class ListTable(DataTable[str | Text]):
    """A table of list entries: enter edits, n adds, x deletes."""

    BINDINGS = [
        Binding("n", "add", "New"),
        Binding("x", "remove", "Delete"),
    ]

    def __init__(self, list_path: Path_, id: str) -> None:
        super().__init__(id=id, cursor_type="row")
        self.list_path = list_path

    def action_add(self) -> None:
        self.query_ancestor(SipPane).edit(self.list_path, None)

    def action_remove(self) -> None:
        self.query_ancestor(SipPane).remove_entry(self.list_path, self.cursor_row)


class SipPane(ListEntries, Pane):
    DEFAULT_CSS = """
    SipPane VerticalScroll { padding: 0 1; }
    SipPane .section { text-style: bold; color: $accent; margin-top: 1; }
    SipPane ListTable { height: auto; max-height: 8; }
    SipPane #sip-errors { color: $error; height: auto; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.fields: list[BoundField] = [
            text_field("Listening port (peer mode answers here)", ("sip", "port"), parse=as_int),
            text_field("Allowed callers (networks, e.g. 192.168.1.0/24; empty: PBX + LAN)",
                       ("sip", "allow"), parse=as_words, show=_words),
            text_field("Calls at once (1-4)", ("sip", "max_calls"), parse=as_int),
            select_field("When full", ("sip", "overflow"), ["busy", "transfer"]),
            text_field("Overflow goes to (human extension name)", ("sip", "overflow_to")),
            select_field("Transfer to a person", ("sip", "transfer"), ["warm", "blind"]),
            text_field("Keypad key for a person", ("sip", "dtmf", "human_key")),
        ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(can_focus=False):
            yield Static("Accounts at the PBX (none: peer mode)", classes="section")
            yield Label("enter edit · n new · x delete", classes="hint")
            yield ListTable(ACCOUNTS, id="accounts")
            yield Static("People (human extensions)", classes="section")
            yield Label("enter edit · n new · x delete", classes="hint")
            yield ListTable(HUMANS, id="humans")
            yield Static("Listening, limits, security", classes="section")
            yield from self.fields
            yield Static("", id="sip-errors", markup=False)

    def enter(self) -> None:
        self.query_one("#accounts", ListTable).focus()
        self.call_after_refresh(self.query_one(VerticalScroll).scroll_home, animate=False)

    def on_mount(self) -> None:
        accounts = self.query_one("#accounts", ListTable)
        accounts.add_columns("Account", "Transport", "Password", "Entry assistant")
        humans = self.query_one("#humans", ListTable)
        humans.add_columns("Name", "Extension", "Who answers")
        self.reload()

    def reload(self) -> None:
        if not self.doc.readable:
            self.query_one("#sip-errors", Static).update(
                "The config file cannot be edited:\n" + "\n".join(self.doc.load_errors)
            )
            return
        accounts = self.query_one("#accounts", ListTable)
        accounts.clear()
        for acc in self.doc.get(ACCOUNTS, []) or []:
            secret = "•" * 8 if acc.get("password") else "(none)"
            accounts.add_row(
                Text(f"{acc.get('user', '?')}@{acc.get('registrar', '?')}"),
                Text(str(acc.get("transport", "udp"))),
                secret,
                Text(str(acc.get("entry") or "(team entry)")),
            )
        humans = self.query_one("#humans", ListTable)
        humans.clear()
        for h in self.doc.get(HUMANS, []) or []:
            humans.add_row(
                Text(str(h.get("name", "?"))),
                Text(str(h.get("extension", "?"))),
                Text(str(h.get("description", ""))),
            )
        values = self.doc.shown([f.path for f in self.fields])
        for f, value in zip(self.fields, values, strict=True):
            f.load(value)
        self.refresh_findings()

    def refresh_findings(self) -> list[Finding]:
        _, errors = self.doc.validate()
        for f in self.fields:
            f.errors(errors)
        mine = [e for e in errors if e.under(("sip",)) or e.under(HUMANS)]
        self.query_one("#sip-errors", Static).update("\n".join(f"✗ {e}" for e in mine))
        return errors

    def on_field_edited(self, event: FieldEdited) -> None:
        self.doc.set(event.field.path, event.value)
        self.refresh_findings()
        self.app_changed()

    def on_config_changed(self, event: ConfigChanged) -> None:
        if event.origin is not self:
            self.reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, ListTable):
            self.edit(event.data_table.list_path, event.cursor_row)

    # -- entries ----------------------------------------------------------------------------

    def _account_fields(self, base: Path_) -> list[BoundField]:
        names = [str(a.get("name")) for a in self.doc.get(("assistants",), []) or []]
        return [
            text_field("Registrar (host or host:port)", (*base, "registrar")),
            text_field("User (extension)", (*base, "user")),
            text_field("Auth user (empty: same as user)", (*base, "auth_user")),
            text_field("Password", (*base, "password"), password=True),
            text_field("Domain (empty: the registrar's host)", (*base, "domain")),
            select_field("Transport", (*base, "transport"), ["udp", "tcp", "tls"]),
            select_field("Entry assistant (empty: the team's)", (*base, "entry"), names,
                         allow_blank=True),
            text_field("Registration expires (s)", (*base, "expires_s"), parse=as_int),
        ]

    def _human_fields(self, base: Path_) -> list[BoundField]:
        return [
            text_field("Name (used by tools, e.g. reception)", (*base, "name")),
            text_field("Extension (number or SIP user)", (*base, "extension")),
            text_field("Who answers there", (*base, "description")),
        ]

    def edit(self, list_path: Path_, index: int | None) -> None:
        if list_path == ACCOUNTS:
            fields, title = self._account_fields, "SIP account"
            template: dict[str, Any] = {
                "registrar": "", "user": "", "password": "", "transport": "udp", "expires_s": 300
            }
        else:
            fields, title = self._human_fields, "Person (human extension)"
            template = {"name": "", "extension": "", "description": ""}

        self.edit_entry(list_path, index, fields, title, template)
