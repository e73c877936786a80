"""The Assistants tab: the team on the left, the selected assistant's "Prompt & Tools" on the
right (profile fields, then the integrated tools: handoff rules, transfer to a person, others,
then the office facts: the assistant's own and the team's, which every assistant knows).

Keys on the team list: a add, r rename (references follow), d delete (refused while referenced).
Keys on the rule list: enter edit, n new rule, x delete rule.
Keys on a facts list: enter edit, n new fact, x delete fact.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, ListItem, ListView, SelectionList, Static

from appliance.config import NAME_RE
from appliance.tools import TOOLS
from tui.dialogs import AskScreen, ConfirmScreen
from tui.document import (
    Finding,
    Path_,
    assistant_index,
    new_assistant,
    references,
    rename_assistant,
)
from tui.fact_editor import FactEditor, fact_summary
from tui.fields import (
    BoundField,
    FieldEdited,
    area_field,
    as_float,
    as_optional,
    text_field,
)
from tui.pane import ConfigChanged, Pane
from tui.rule_editor import RuleEditor, rule_summary

_LOGGER = logging.getLogger(__name__)
# the tools with code on this box, in the registry's order (appliance/tools: TOOLS); planned
# ones cannot be chosen
TOOL_ORDER = list(TOOLS)


def _slots_text(value: Any) -> str:
    if not isinstance(value, list):
        return ""
    return "\n".join(
        f"{s.get('name', '')}: {s.get('description', '')}" for s in value if isinstance(s, dict)
    )


def _slots_parse(text: str) -> list[dict[str, str]]:
    out = []
    for line in text.splitlines():
        if line.strip():
            name, _, desc = line.partition(":")
            out.append({"name": name.strip(), "description": desc.strip()})
    return out


class TeamList(ListView):
    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("r", "rename", "Rename"),
        Binding("d", "delete", "Delete"),
    ]

    def action_add(self) -> None:
        self.pane.add()

    def action_rename(self) -> None:
        self.pane.rename()

    def action_delete(self) -> None:
        self.pane.delete()

    @property
    def pane(self) -> AssistantsPane:
        return self.query_ancestor(AssistantsPane)


class RuleList(ListView):
    BINDINGS = [
        Binding("n", "new_rule", "New rule"),
        Binding("x", "delete_rule", "Delete rule"),
    ]

    def action_new_rule(self) -> None:
        self.query_ancestor(AssistantsPane).edit_rule(None)

    def action_delete_rule(self) -> None:
        self.query_ancestor(AssistantsPane).delete_rule()


class FactList(ListView):
    """The facts of the shown assistant (`team` False) or of the team."""

    BINDINGS = [
        Binding("n", "new_fact", "New fact"),
        Binding("x", "delete_fact", "Delete fact"),
    ]

    def __init__(self, *, team: bool, id: str | None = None) -> None:
        super().__init__(id=id)
        self.team = team

    def action_new_fact(self) -> None:
        self.query_ancestor(AssistantsPane).edit_fact(self.team, None)

    def action_delete_fact(self) -> None:
        self.query_ancestor(AssistantsPane).delete_fact(self.team)


class AssistantsPane(Pane):
    DEFAULT_CSS = """
    AssistantsPane { layout: horizontal; }
    AssistantsPane #team-side { width: 24; border-right: solid $primary; }
    AssistantsPane TeamList { height: 1fr; }
    AssistantsPane #profile { width: 1fr; padding: 0 1; }
    AssistantsPane .section { text-style: bold; color: $accent; margin-top: 1; }
    AssistantsPane RuleList { height: auto; max-height: 8; }
    AssistantsPane FactList { height: auto; max-height: 8; }
    AssistantsPane SelectionList { height: auto; }
    AssistantsPane #humans-note { color: $text-muted; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index = 0
        self.findings: list[Finding] = []
        p: tuple[str, ...] = ()
        self.fields: list[BoundField] = [
            text_field("Title", (*p, "title")),
            text_field("Language (en, de, ...)", (*p, "language")),
            area_field("System prompt", (*p, "system_prompt")),
            text_field("Greeting (first sentence of a call)", (*p, "greeting")),
            text_field("Voice (manifest name)", (*p, "voice", "model")),
            text_field(
                "Speaking rate (length scale: >1 slower, <1 faster)",
                (*p, "voice", "length_scale"),
                parse=as_float,
            ),
            text_field("LoRA adapter file (empty: none)", (*p, "lora", "path"), parse=as_optional),
            text_field("LoRA scale (0-4)", (*p, "lora", "scale"), parse=as_float),
            area_field(
                "Slot schema (one per line: name: what it holds)",
                (*p, "slots"),
                parse=_slots_parse,
                show=_slots_text,
            ),
        ]

    def compose(self) -> ComposeResult:
        with Vertical(id="team-side"):
            yield TeamList(id="team")
            yield Static("a add · r rename · d delete", classes="hint")
        with VerticalScroll(id="profile", can_focus=False):  # tab goes straight to the fields
            yield Static("", id="profile-title", classes="section", markup=False)
            yield from self.fields
            yield Static("Integrated tools", classes="section")
            yield Label("Handoff rules (enter edit · n new · x delete)")
            yield RuleList(id="rules")
            yield Static("", id="rules-error", classes="error", markup=False)
            yield Label("Transfer to a human extension · other tools")
            yield SelectionList[str](id="tools")
            yield Static("", id="humans-note", markup=False)
            yield Static("Office facts", classes="section")
            yield Label("", id="facts-label", markup=False)
            yield FactList(team=False, id="facts")
            yield Label("Team facts (every assistant): enter · n · x")
            yield FactList(team=True, id="team-facts")
            yield Static("", id="facts-error", classes="error", markup=False)

    def on_mount(self) -> None:
        self.reload()

    # -- showing ----------------------------------------------------------------------------

    @property
    def assistants(self) -> list[dict[str, Any]]:
        value = self.doc.get(("assistants",), [])
        return [a for a in value if isinstance(a, dict)] if isinstance(value, list) else []

    def reload(self) -> None:
        """Rebuild everything from the document (after a rename, delete, save or restore)."""
        team = self.query_one(TeamList)
        names = self.assistants
        entry = self.doc.get(("team", "entry"))
        team.clear()
        for a in names:
            mark = "*" if a.get("name") == entry else " "
            team.append(
                ListItem(Label(f"{mark}{a.get('name', '?')}  {a.get('title', '')}", markup=False))
            )
        self.index = min(self.index, max(len(names) - 1, 0))
        if names:
            team.index = self.index
        self.show_assistant()

    def show_assistant(self) -> None:
        if not self.doc.readable or not self.assistants:
            self.query_one("#profile-title", Static).update(
                "The config file cannot be edited:\n" + "\n".join(self.doc.load_errors)
                if not self.doc.readable
                else "No assistants: press a to add one."
            )
            return
        i = self.index
        a = self.assistants[i]
        self.query_one("#profile-title", Static).update(
            f"Prompt & Tools: {a.get('name')} ({a.get('title', '')})"
        )
        for f in self.fields:
            f.path = ("assistants", i, *self._suffix(f))
        values = self.doc.shown([f.path for f in self.fields])
        for f, value in zip(self.fields, values, strict=True):
            f.load(value)
        self._show_rules()
        self._show_tools()
        self.query_one("#facts-label", Label).update(
            f"Facts of {a.get('name')} only (enter edit · n new · x delete)"
        )
        self.refresh_findings()
        self._show_facts()

    def _suffix(self, f: BoundField) -> tuple[str | int, ...]:
        return f.path[2:] if f.path[:1] == ("assistants",) else f.path

    def _show_rules(self) -> None:
        rules = self.query_one(RuleList)
        rules.clear()
        for j, rule in enumerate(self.doc.get(("assistants", self.index, "handoffs"), []) or []):
            mine = [f for f in self.findings if f.under(("assistants", self.index, "handoffs", j))]
            mark = "✗" if any(f.level == "error" for f in mine) else "!" if mine else " "
            rules.append(ListItem(Label(f"{mark}{j + 1}. {rule_summary(rule)}", markup=False)))

    def facts_path(self, team: bool) -> Path_:
        return ("team", "facts") if team else ("assistants", self.index, "facts")

    def _show_facts(self) -> None:
        for box in self.query(FactList):
            path = self.facts_path(box.team)
            keep = box.index
            box.clear()
            facts = self.doc.get(path, []) or []
            for j, fact in enumerate(facts if isinstance(facts, list) else []):
                mine = [f for f in self.findings if f.under((*path, j))]
                mark = "✗" if any(f.level == "error" for f in mine) else "!" if mine else " "
                text = f"{mark}{j + 1}. {fact_summary(fact, 44)}"
                box.append(ListItem(Label(text, markup=False)))
            if box.has_focus and keep is not None and len(box):
                box.index = min(keep, len(box) - 1)

    def _show_tools(self) -> None:
        tools = self.doc.get(("assistants", self.index, "tools"), None)
        tools = tools if isinstance(tools, list) else ["handoff"]
        box = self.query_one(SelectionList)
        box.clear_options()
        box.add_options([(t, t, t in tools) for t in TOOL_ORDER])
        humans = self.doc.get(("team", "human_extensions"), []) or []
        names = ", ".join(f"{h.get('name')} ({h.get('extension')})" for h in humans) or "none"
        self.query_one("#humans-note", Static).update(
            f"People (edit in F4 SIP): {names}"
        )

    def refresh_findings(self) -> None:
        self.findings = self.doc.check()
        for f in self.fields:
            f.errors(self.findings)
        here = [
            f for f in self.findings
            if f.under(("assistants", self.index)) and len(f.path) >= 3
            and f.path[2] in ("handoffs", "tools")
        ]
        self.query_one("#rules-error", Static).update(
            "\n".join(f"{'✗' if f.level == 'error' else '!'} {f}" for f in here)
        )
        facts = [
            f for f in self.findings
            if f.under(self.facts_path(False)) or f.under(self.facts_path(True))
        ]
        self.query_one("#facts-error", Static).update(
            "\n".join(f"{'✗' if f.level == 'error' else '!'} {f}" for f in facts)
        )

    # -- editing ----------------------------------------------------------------------------

    def on_field_edited(self, event: FieldEdited) -> None:
        path = event.field.path
        value = event.value
        if path[-2:] == ("lora", "path") and value is None:
            self.doc.set(path[:-1], None)  # no adapter: drop the whole lora entry
        elif path[-2:] == ("lora", "scale") and self.doc.get(path[:-1]) is None:
            return  # a scale without an adapter means nothing
        else:
            self.doc.set(path, value)
        self.edited()

    def edited(self) -> None:
        self.refresh_findings()
        self._show_rules()
        self._show_facts()
        self.app_changed()

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        i = event.list_view.index
        if isinstance(event.list_view, TeamList) and i is not None and i != self.index:
            self.index = i
            self.show_assistant()

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if isinstance(event.list_view, RuleList) and event.list_view.index is not None:
            self.edit_rule(event.list_view.index)
        elif isinstance(event.list_view, FactList) and event.list_view.index is not None:
            self.edit_fact(event.list_view.team, event.list_view.index)

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        chosen = set(event.selection_list.selected)
        old = self.doc.get(("assistants", self.index, "tools"), []) or []
        keep = [t for t in old if t not in TOOLS]  # unknown, planned names stay (lint flags them)
        new = [t for t in TOOL_ORDER if t in chosen] + keep
        if new != old:
            self.doc.set(("assistants", self.index, "tools"), new)
            self.edited()

    def on_config_changed(self, event: ConfigChanged) -> None:
        if event.origin is not self:
            self.reload()

    # -- team operations --------------------------------------------------------------------

    def _name_problem(self, name: str, old: str | None = None) -> str | None:
        if not re.match(NAME_RE, name):
            return "a name is lowercase letters, digits, - or _, starting with a letter (max 32)"
        if name != old and any(a.get("name") == name for a in self.assistants):
            return f"'{name}' already exists"
        return None

    def add(self) -> None:
        def check(v: dict[str, str]) -> str | None:
            return self._name_problem(v["name"]) or (None if v["title"] else "a title, please")

        def done(v: dict[str, str] | None) -> None:
            if v:
                self.doc.data.setdefault("assistants", []).append(
                    new_assistant(v["name"], v["title"])
                )
                self.index = len(self.assistants) - 1
                self.reload()
                self.app_changed()
                self.notify(f"Added {v['name']}: no rule hands off to it yet (see F3 Lint)")

        self.app.push_screen(
            AskScreen("New assistant", {"name": "name (e.g. billing)", "title": "title"}, check),
            done,
        )

    def rename(self) -> None:
        if not self.assistants:
            return
        old = str(self.assistants[self.index].get("name"))

        def done(v: dict[str, str] | None) -> None:
            if v and v["name"] != old:
                n = rename_assistant(self.doc.data, old, v["name"])
                self.reload()
                self.app_changed()
                self.notify(f"Renamed {old} to {v['name']}; {n} reference(s) updated")

        self.app.push_screen(
            AskScreen(
                f"Rename {old} (rules, entry and accounts follow)",
                {"name": "new name"},
                lambda v: self._name_problem(v["name"], old),
                {"name": old},
            ),
            done,
        )

    def delete(self) -> None:
        if not self.assistants:
            return
        name = str(self.assistants[self.index].get("name"))
        refs = references(self.doc.data, name)
        if refs:
            self.notify(
                f"Cannot delete {name}: it is used by " + "; ".join(refs),
                severity="error",
                timeout=8,
            )
            return

        def done(yes: bool | None) -> None:
            if yes:
                del self.doc.data["assistants"][assistant_index(self.doc.data, name)]
                self.reload()
                self.app_changed()
                self.notify(f"Deleted {name} (not saved yet: ctrl+s saves)")

        self.app.push_screen(ConfirmScreen(f"Delete the assistant {name}?"), done)

    # -- rules ------------------------------------------------------------------------------

    def edit_rule(self, j: int | None) -> None:
        if not self.assistants:
            return

        def done(changed: bool | None) -> None:
            if changed:
                self.edited()

        self.app.push_screen(RuleEditor(self.doc, self.index, j), done)

    def delete_rule(self) -> None:
        rules = self.query_one(RuleList)
        j = rules.index
        path = ("assistants", self.index, "handoffs")
        items = self.doc.get(path, []) or []
        if j is None or j >= len(items):
            return
        self._confirm_delete(items, j, f"Delete handoff rule {j + 1}: {rule_summary(items[j])}?")

    def _confirm_delete(self, items: list[Any], j: int, question: str) -> None:
        """Ask `question`; on yes, item j goes from `items` (a list inside the document)."""

        def done(yes: bool | None) -> None:
            if yes:
                del items[j]
                self.edited()

        self.app.push_screen(ConfirmScreen(question), done)

    # -- facts ------------------------------------------------------------------------------

    def edit_fact(self, team: bool, j: int | None) -> None:
        """Edit fact j (None: a new one) of the team's or the shown assistant's facts."""
        if not self.assistants and not team:
            return
        owner = "the team" if team else str(self.assistants[self.index].get("name"))

        def done(changed: bool | None) -> None:
            if changed:
                self.edited()

        self.app.push_screen(FactEditor(self.doc, self.facts_path(team), j, owner), done)

    def delete_fact(self, team: bool) -> None:
        box = self.query_one("#team-facts" if team else "#facts", FactList)
        j = box.index
        path = self.facts_path(team)
        items = self.doc.get(path, []) or []
        if j is None or j >= len(items):
            return
        topic = items[j].get("topic", "?") if isinstance(items[j], dict) else "?"
        whose = "team" if team else str(self.assistants[self.index].get("name"))
        self._confirm_delete(items, j, f"Delete the {whose} fact {j + 1}: {topic}?")
