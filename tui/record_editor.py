"""A modal editor for one entry of a list in the config (a SIP account, a human extension):
bound fields on a working copy, validated against the whole config, applied on ctrl+s."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.dialogs import EditorScreen
from tui.document import ConfigDocument, Finding, Path_
from tui.fields import BoundField, FieldEdited

FieldsFor = Callable[[Path_], list[BoundField]]


class RecordEditor(EditorScreen):
    """Edit item `index` (None: a new one from `template`) of the list at `list_path`."""

    DEFAULT_CSS = """
    RecordEditor { align: center middle; }
    RecordEditor > VerticalScroll { width: 80; max-width: 100%; height: auto; max-height: 100%;
                                    border: thick $primary; background: $surface; padding: 0 1; }
    RecordEditor #record-head { text-style: bold; }
    RecordEditor Horizontal { height: auto; align-horizontal: right; }
    """
    def __init__(
        self,
        doc: ConfigDocument,
        list_path: Path_,
        index: int | None,
        fields: FieldsFor,
        title: str,
        template: dict[str, Any],
    ) -> None:
        super().__init__()
        self.doc = doc
        self.list_path = list_path
        items = doc.get(list_path, []) or []
        self.index = len(items) if index is None else index
        self.item: dict[str, Any] = (
            copy.deepcopy(items[index]) if index is not None else copy.deepcopy(template)
        )
        self.base = (*list_path, self.index)
        self.fields = fields(self.base)
        self.title_text = title

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(f"{self.title_text}   (ctrl+s apply · esc cancel)", id="record-head")
            yield from self.fields
            yield Static("", id="record-status")
            yield from self.buttons()

    def on_mount(self) -> None:
        for f in self.fields:
            f.load(self.item.get(str(f.path[-1])))
        if self.fields:
            self.fields[0].editor.focus()  # typing goes into the first field at once
        self._check()

    def _candidate(self) -> dict[str, Any]:
        data = copy.deepcopy(self.doc.data)
        twin = ConfigDocument(self.doc.path, data)
        items = list(twin.get(self.list_path, []) or [])
        if self.index < len(items):
            items[self.index] = self.item
        else:
            items.append(self.item)
        twin.set(self.list_path, items)
        return twin.data

    def _check(self) -> list[Finding]:
        twin = ConfigDocument(self.doc.path, self._candidate())
        _, errors = twin.validate()
        mine = [f for f in errors if f.under(self.base)]
        for f in self.fields:
            f.errors(mine)
        status = self.query_one("#record-status", Static)
        status.update(f"✗ {len(mine)} error(s): fix them to apply" if mine else "✓ valid")
        return mine

    def on_field_edited(self, event: FieldEdited) -> None:
        key = str(event.field.path[-1])
        if event.value is None:
            self.item.pop(key, None)
        else:
            self.item[key] = event.value
        self._check()

    def action_apply(self) -> None:
        if self._check():
            self.notify("Fix the errors shown under the fields first", severity="error")
            return
        self.doc.data = self._candidate()
        self.dismiss(True)


class ListEntries:
    """A pane's lists of config entries (SIP accounts, people, appointment types, webhooks):
    edit one in a RecordEditor, delete one after a y/n question. The pane gives `doc`, `app`,
    `reload()` and `app_changed()`."""

    doc: ConfigDocument
    app: Any
    reload: Callable[[], None]
    app_changed: Callable[[], None]

    def edit_entry(
        self, list_path: Path_, index: int | None, fields: FieldsFor, title: str,
        template: dict[str, Any],
    ) -> None:  # fmt: skip
        items = self.doc.get(list_path, []) or []
        if index is not None and not 0 <= index < len(items):
            index = None

        def done(applied: bool | None) -> None:
            if applied:
                self.reload()
                self.app_changed()

        self.app.push_screen(
            RecordEditor(self.doc, list_path, index, fields, title, template), done
        )

    def remove_entry(self, list_path: Path_, index: int) -> None:
        from tui.dialogs import ConfirmScreen

        items = self.doc.get(list_path, []) or []
        if not 0 <= index < len(items):
            return
        item = items[index]
        label = item.get("user") or item.get("name") or f"entry {index + 1}"

        def done(yes: bool | None) -> None:
            if yes:
                del items[index]
                self.reload()
                self.app_changed()

        self.app.push_screen(ConfirmScreen(f"Delete {label}?"), done)
