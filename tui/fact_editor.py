"""One office fact (team.facts or an assistant's facts), edited in a RecordEditor: the topic (what
the list shows), the answer as the assistant may say it, and example caller questions, one per
line. Besides its errors the editor shows the checker's warnings about the fact (a duplicate
topic, numbers that contradict another fact on the topic, a call back promised without
take_message)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.widgets import Static

from tui.document import ConfigDocument, Finding, Path_
from tui.fields import BoundField, area_field, as_lines, text_field
from tui.record_editor import RecordEditor

NEW_FACT: dict[str, Any] = {"topic": "", "answer": "", "examples": []}


def fact_summary(fact: Any, width: int = 50) -> str:
    if not isinstance(fact, dict):
        return "(not a fact)"
    text = f"{fact.get('topic', '?')}: {' '.join(str(fact.get('answer', '')).split())}"
    return text if len(text) <= width else text[: width - 1] + "…"


def fact_fields(base: Path_) -> list[BoundField]:
    return [
        text_field("Topic (a few words, e.g. opening hours)", (*base, "topic")),
        area_field(
            "Answer (as the assistant may say it: its only source of numbers and names)",
            (*base, "answer"),
        ),
        area_field(
            "Example caller questions (one per line; they help find the fact)",
            (*base, "examples"),
            parse=as_lines,
            show=lambda v: "\n".join(v) if isinstance(v, list) else "",
        ),
    ]


class FactEditor(RecordEditor):
    """Edit fact `index` (None: a new one) of the facts list at `list_path`."""

    def __init__(
        self, doc: ConfigDocument, list_path: Path_, index: int | None, owner: str
    ) -> None:
        verb = "New fact" if index is None else f"Fact {index + 1}"
        super().__init__(doc, list_path, index, fact_fields, f"{verb} of {owner}", NEW_FACT)

    def on_mount(self) -> None:
        # RecordEditor.on_mount loads the fields too (Textual calls each class's handler)
        self.fields[0].editor.focus()  # type the topic right away (not the scroll container)

    def _check(self) -> list[Finding]:
        errors = super()._check()
        if errors:
            return errors
        twin = ConfigDocument(self.doc.path, self._candidate())
        warnings = [f for f in twin.check() if f.level == "warning" and f.under(self.base)]
        if warnings:
            self.query_one("#record-status", Static).update(
                escape("\n".join(f"! {w.message}" for w in warnings))
            )
        return errors
