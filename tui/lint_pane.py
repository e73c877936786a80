"""The Lint tab: the config checker's errors and warnings beside the rules they concern (vague
or overlapping conditions, unreachable assistants, cycles with no exit, no route to a person,
duplicate or contradicting facts). Enter on a line opens the assistant (and the rule or fact) it
is about."""

from __future__ import annotations

import logging
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static, TabbedContent

from tui.document import ConfigDocument, Finding
from tui.fact_editor import fact_summary
from tui.pane import ConfigChanged, Pane
from tui.rule_editor import rule_summary

_LOGGER = logging.getLogger(__name__)


def where(doc: ConfigDocument, f: Finding) -> str:
    """A readable place: "sales", "frontdesk rule 2 → sales: the caller asks...", "team"."""
    p = f.path
    if len(p) >= 2 and p[0] == "assistants" and isinstance(p[1], int):
        name = doc.get(("assistants", p[1], "name"), f"#{p[1]}")
        if len(p) >= 4 and p[2] == "handoffs" and isinstance(p[3], int):
            rule = doc.get(p[:4])
            return f"{name} rule {p[3] + 1} {rule_summary(rule)}"
        if len(p) >= 4 and p[2] == "facts" and isinstance(p[3], int):
            return f"{name} fact {p[3] + 1} {fact_summary(doc.get(p[:4]), 30)}"
        if len(p) >= 3:
            return f"{name} {'.'.join(str(x) for x in p[2:])}"
        return str(name)
    if len(p) >= 3 and p[:2] == ("team", "facts") and isinstance(p[2], int):
        return f"team fact {p[2] + 1} {fact_summary(doc.get(p[:3]), 30)}"
    return f.location or "config"


class LintPane(Pane):
    DEFAULT_CSS = """
    LintPane #lint-summary { height: auto; padding: 0 1; }
    LintPane DataTable { height: 1fr; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.findings: list[Finding] = []
        self._embedder: Any = None
        self._embedder_note = ""
        self._timer: Any = None

    def compose(self) -> ComposeResult:
        yield Static("checking...", id="lint-summary", markup=False)
        table: DataTable[str | Text] = DataTable(cursor_type="row", zebra_stripes=True)
        table.add_columns("", "Where", "Problem")
        yield table

    def on_mount(self) -> None:
        self.recheck()

    def on_config_changed(self, event: ConfigChanged) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(0.4, self.recheck)  # typing: check once it pauses

    def recheck(self) -> None:
        self.run_worker(self._check, thread=True, group="lint", exclusive=True)

    def _load_embedder(self) -> Any:
        if self._embedder is None and not self._embedder_note:
            from appliance.brain.embeddings import Embedder
            from appliance.errors import VoiceboxError
            from appliance.models import model_path

            cfg, _ = self.doc.validate()
            name = cfg.models.embeddings if cfg else "minilm-l6"
            try:
                self._embedder = Embedder(model_path(name))
            except VoiceboxError as err:
                self._embedder_note = f"similarity checks skipped: {err.message}"
        return self._embedder

    def _check(self) -> None:
        doc = self.doc
        findings = doc.check(self._load_embedder() if doc.readable else None)
        self.app.call_from_thread(self._show, findings)

    def _show(self, findings: list[Finding]) -> None:
        self.findings = sorted(findings, key=lambda f: (f.level != "error", f.path))
        table = self.query_one(DataTable)
        table.clear()
        for f in self.findings:
            mark = "✗" if f.level == "error" else "!"
            table.add_row(mark, Text(where(self.doc, f)), Text(f.message))
        errors = sum(f.level == "error" for f in findings)
        warnings = len(findings) - errors
        state = (
            "the file cannot be read" if not self.doc.readable
            else "not savable: fix the errors" if errors else "savable"
        )
        note = f" · {self._embedder_note}" if self._embedder_note else ""
        self.query_one("#lint-summary", Static).update(
            f"{errors} error(s), {warnings} warning(s): {state}{note}"
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        i = event.cursor_row
        if not 0 <= i < len(self.findings):
            return
        p = self.findings[i].path
        if len(p) >= 3 and p[:2] == ("team", "facts") and isinstance(p[2], int):
            from tui.assistants import AssistantsPane

            self.screen.query_one(TabbedContent).active = "assistants"
            self.screen.query_one(AssistantsPane).edit_fact(True, p[2])
            return
        if len(p) < 2 or p[0] != "assistants" or not isinstance(p[1], int):
            if p[:1] in (("sip",), ("team",)):
                self.screen.query_one(TabbedContent).active = "sip"
            return
        from tui.assistants import AssistantsPane

        pane = self.screen.query_one(AssistantsPane)
        pane.index = p[1]
        pane.reload()
        self.screen.query_one(TabbedContent).active = "assistants"
        if len(p) >= 4 and p[2] == "handoffs" and isinstance(p[3], int):
            pane.edit_rule(p[3])
        elif len(p) >= 4 and p[2] == "facts" and isinstance(p[3], int):
            pane.edit_fact(False, p[3])
