"""One handoff rule, edited as the handoff article describes it: pick the target assistant,
describe when the transfer should happen (observable topics, intents, phrases), add example
phrases, then priority, announcement, how much history travels and an optional confirmation."""

from __future__ import annotations

import copy
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from appliance.config import HandoffRule, HistoryPolicy
from tui.dialogs import EditorScreen
from tui.document import ConfigDocument, Finding
from tui.fields import (
    FieldEdited,
    area_field,
    as_int,
    as_lines,
    as_optional,
    select_field,
    text_field,
)

NEW_RULE: dict[str, Any] = {
    "target": "",
    "condition": "",
    "examples": [],
    "priority": 0,
    "announcement": "One moment, I'll connect you.",
    "history": "full",
}


def rule_summary(rule: Any) -> str:
    if not isinstance(rule, dict):
        return "(not a rule)"
    cond = str(rule.get("condition", ""))
    cond = cond if len(cond) <= 48 else cond[:47] + "…"
    return f"→ {rule.get('target', '?')} [p{rule.get('priority', 0)}] {cond}"


class RuleEditor(EditorScreen):
    """Edit (or add, j None) handoff rule j of assistant i; dismisses True when applied."""

    DEFAULT_CSS = """
    RuleEditor { align: center middle; }
    RuleEditor > VerticalScroll { width: 100; max-width: 100%; height: 100%;
                                  border: thick $primary; background: $surface; padding: 0 1; }
    RuleEditor #rule-head { text-style: bold; }
    RuleEditor #rule-status { height: auto; }
    RuleEditor Horizontal { height: auto; align-horizontal: right; }
    """
    def __init__(self, doc: ConfigDocument, i: int, j: int | None) -> None:
        super().__init__()
        self.doc = doc
        self.i = i
        rules = doc.get(("assistants", i, "handoffs"), []) or []
        self.j = len(rules) if j is None else j
        self.is_new = j is None
        self.rule: dict[str, Any] = copy.deepcopy(rules[j]) if j is not None else dict(NEW_RULE)
        self.owner = str(doc.get(("assistants", i, "name"), "?"))
        others = [
            str(a.get("name")) for a in doc.get(("assistants",), []) or []
            if isinstance(a, dict) and a.get("name") != self.owner
        ]
        self.others = list(others)
        target = self.rule.get("target")
        if isinstance(target, str) and target and target not in others:
            others.append(target)  # a broken reference: shown, with its error
        base = ("assistants", i, "handoffs", self.j)
        self.fields = [
            select_field(
                "Target assistant (who takes over)", (*base, "target"), others, allow_blank=True
            ),
            area_field(
                "When should the transfer happen? (observable: topics, intents, phrases)",
                (*base, "condition"),
            ),
            area_field(
                "Example caller phrases (one per line)",
                (*base, "examples"),
                parse=as_lines,
                show=lambda v: "\n".join(v) if isinstance(v, list) else "",
            ),
            text_field("Priority (higher wins when rules overlap)", (*base, "priority"),
                       parse=as_int),
            text_field("Announcement (said while the target takes over)",
                       (*base, "announcement")),
            select_field("History that travels", (*base, "history"),
                         [h.value for h in HistoryPolicy]),
            text_field("Last N turns (history last_n)", (*base, "last_n"), parse=as_int),
            text_field(
                "Confirmation question (optional; the caller must agree)",
                (*base, "confirm"),
                parse=as_optional,
            ),
        ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            verb = "New handoff rule" if self.is_new else f"Handoff rule {self.j + 1}"
            yield Static(f"{verb} of {self.owner}   (ctrl+s apply · esc cancel)", id="rule-head")
            yield from self.fields
            yield Static("", id="rule-status")
            yield from self.buttons()

    def on_mount(self) -> None:
        for f in self.fields:
            key = f.path[-1]
            spec = HandoffRule.model_fields[str(key)]
            default = None if spec.is_required() else spec.default
            f.load(self.rule.get(str(key), default))
        self._check()

    def _candidate(self) -> dict[str, Any]:
        data = copy.deepcopy(self.doc.data)
        rules = data["assistants"][self.i].setdefault("handoffs", [])
        if self.j < len(rules):
            rules[self.j] = self.rule
        else:
            rules.append(self.rule)
        return data

    def _findings(self) -> list[Finding]:
        """This rule's errors, and the checker's warnings about it (vague, overlapping): those
        are checked with a stand-in target while the target is still missing."""
        base = ("assistants", self.i, "handoffs", self.j)
        data = self._candidate()
        _, errors = ConfigDocument(self.doc.path, data).validate()
        mine = [f for f in errors if f.under(base)]
        if self.others and self.rule.get("target") not in self.others:
            data["assistants"][self.i]["handoffs"][self.j] = {
                **self.rule, "target": self.others[0]
            }
        checked = ConfigDocument(self.doc.path, data).check()
        warnings = [
            # the rule's condition is what a vague or overlapping warning is about
            Finding(f.level, (*base, "condition"), f.location, f.message) if f.path == base else f
            for f in checked
            if f.level == "warning" and f.under(base)
        ]
        return mine + warnings

    def _check(self) -> list[Finding]:
        found = self._findings()
        for f in self.fields:
            f.errors(found)
        errors = [f for f in found if f.level == "error"]
        warnings = [f for f in found if f.level != "error"]
        status = self.query_one("#rule-status", Static)
        if errors:
            status.update(f"✗ {len(errors)} error(s): fix them to apply")
        else:
            status.update("\n".join(f"! {w.message}" for w in warnings) or "✓ valid")
        return found

    def on_field_edited(self, event: FieldEdited) -> None:
        key = str(event.field.path[-1])
        if event.value is None or event.value == []:
            if key in ("confirm", "examples"):
                self.rule.pop(key, None)
            else:
                self.rule[key] = ""
        else:
            self.rule[key] = event.value
        self._check()

    def action_apply(self) -> None:
        if any(f.level == "error" for f in self._check()):
            self.notify("The rule has errors (shown under the fields)", severity="error")
            return
        rules = self.doc.data["assistants"][self.i].setdefault("handoffs", [])
        if self.j < len(rules):
            rules[self.j] = self.rule
        else:
            rules.append(self.rule)
        self.dismiss(True)
