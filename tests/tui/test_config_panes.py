"""Pilot tests of the configuration tabs: assistants, rules, lint, SIP, save and reload."""

from __future__ import annotations

import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from textual.pilot import Pilot
from textual.widgets import Input, Label, ListItem, SelectionList, Static, TextArea

from appliance.config import load_config, template_text
from appliance.daemon.control_server import ControlServer
from tui.app import VoiceboxApp
from tui.assistants import AssistantsPane, FactList, RuleList, TeamList
from tui.dialogs import ConfirmScreen
from tui.fact_editor import FactEditor
from tui.fields import BoundField
from tui.lint_pane import LintPane
from tui.record_editor import RecordEditor
from tui.rule_editor import RuleEditor
from tui.sip_pane import SipPane

Drive = Callable[[VoiceboxApp, Any], None]


async def idle(pilot: Pilot[None]) -> None:
    """Until no worker runs (an exclusive worker cancels its predecessor: not a failure)."""
    for _ in range(400):
        if not any(w.is_running for w in pilot.app.workers):
            return
        await pilot.pause(0.05)
    raise AssertionError("workers still running after 20 s")


def starter_file(tmp_path: Path, edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
    data = yaml.safe_load(template_text("starter"))
    if edit:
        edit(data)
    path = tmp_path / "voicebox.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def field(screen: Any, label_start: str) -> BoundField:
    for f in screen.query(BoundField):
        if f.label.startswith(label_start):
            return f  # type: ignore[no-any-return]
    raise AssertionError(f"no field {label_start!r}")


def error_text(f: BoundField) -> str:
    return str(f.query_one(".field-error", Static).render())


async def open_team(app: VoiceboxApp, pilot: Pilot[None], name: str) -> AssistantsPane:
    await pilot.press("f2")
    await pilot.pause()
    pane = app.query_one(AssistantsPane)
    team = app.query_one(TeamList)
    team.focus()
    names = [a["name"] for a in pane.assistants]
    team.index = names.index(name)
    await pilot.pause()
    assert pane.index == names.index(name)
    return pane


async def replace_text(pilot: Pilot[None], area: TextArea, text: str) -> None:
    area.focus()
    area.select_all()
    await pilot.press("delete")
    area.insert(text)
    await pilot.pause()


def test_edit_rule_then_save_writes_atomically_with_backup(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    path = starter_file(tmp_path)
    before = path.read_text()
    app = make_app(path)
    new_condition = "the caller asks for a quote on a managed printer fleet"

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await open_team(app, pilot, "frontdesk")
        rules = app.query_one(RuleList)
        rules.focus()
        rules.index = 2  # frontdesk rule 3: -> sales in the starter team
        await pilot.press("enter")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, RuleEditor)
        area = field(editor, "When should").editor
        assert isinstance(area, TextArea)
        assert "pricing" in area.text
        await replace_text(pilot, area, new_condition)
        await pilot.press("ctrl+s")  # apply the rule
        await pilot.pause()
        assert not isinstance(app.screen, RuleEditor)
        await pilot.press("ctrl+s")  # save the file
        await pilot.pause()

    drive(app, script)
    cfg = load_config(path)
    rule = cfg.assistant("frontdesk").handoffs[2]
    assert (rule.target, rule.condition) == ("sales", new_condition)
    assert path.with_name("voicebox.yaml.bak").read_text() == before
    assert not list(tmp_path.glob(".voicebox.yaml.*"))  # no temp file left behind


def test_vague_condition_is_flagged_next_to_the_field(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    app = make_app(starter_file(tmp_path))

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        pane = await open_team(app, pilot, "frontdesk")
        count = len(app.doc.data["assistants"][0]["handoffs"])
        pane.edit_rule(None)  # n on the rule list
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, RuleEditor)
        target = field(editor, "Target")
        assert error_text(target) == "✗ required"
        await replace_text(pilot, field(editor, "When should").editor, "transfer if it makes sense")  # type: ignore[arg-type]
        cond = field(editor, "When should")
        assert "makes sense" in error_text(cond) and "observabl" in error_text(cond)
        await pilot.press("ctrl+s")  # refused: the target is missing
        await pilot.pause()
        assert isinstance(app.screen, RuleEditor)
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.doc.data["assistants"][0]["handoffs"]) == count  # cancelled: no change

    drive(app, script)


def test_add_rename_and_delete_assistants(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    path = starter_file(tmp_path)
    app = make_app(path)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        pane = await open_team(app, pilot, "sales")
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"Billing")  # not a valid name: refused with the rule
        await pilot.press("tab", *"Billing", "enter")
        await pilot.pause()
        assert "lowercase" in str(app.screen.query_one("#ask-error", Static).render())
        name = app.screen.query_one("#ask-name", Input)
        name.value = "billing"
        await pilot.press("enter")
        await pilot.pause()
        assert [a["name"] for a in pane.assistants][-1] == "billing"

        # delete is refused while a rule or the entry names the assistant
        app.query_one(TeamList).index = [a["name"] for a in pane.assistants].index("sales")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert "sales" in [a["name"] for a in pane.assistants]
        assert any("Cannot delete sales" in str(n.message) for n in app._notifications)

        # rename: every rule that named it follows
        await pilot.press("r")
        await pilot.pause()
        app.screen.query_one("#ask-name", Input).value = "sales-team"
        await pilot.press("enter")
        await pilot.pause()
        targets = [r["target"] for r in app.doc.data["assistants"][0]["handoffs"]]
        assert "sales-team" in targets and "sales" not in targets

        # the new assistant is referenced by nobody: deleting it is allowed
        app.query_one(TeamList).index = len(pane.assistants) - 1
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert "billing" not in [a["name"] for a in pane.assistants]
        await pilot.press("ctrl+s")
        await pilot.pause()

    drive(app, script)
    cfg = load_config(path)
    assert "sales-team" in cfg.names and "sales" not in cfg.names
    assert any(r.target == "sales-team" for r in cfg.assistant("frontdesk").handoffs)


def test_broken_reference_is_shown_and_cannot_be_saved(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    def break_it(data: dict[str, Any]) -> None:
        data["assistants"][0]["handoffs"][2]["target"] = "nobody"

    path = starter_file(tmp_path, break_it)
    before = path.read_text()
    app = make_app(path)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f3")
        await pilot.pause()
        await idle(pilot)
        await pilot.pause()
        lint = app.query_one(LintPane)
        errors = [f for f in lint.findings if f.level == "error"]
        assert errors and "unknown assistant 'nobody'" in errors[0].message
        assert "not savable" in str(app.query_one("#lint-summary", Static).render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert path.read_text() == before  # refused
        # enter on the error opens the rule; picking a real target fixes it
        lint.query_one("DataTable").focus()
        await pilot.press("enter")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, RuleEditor)
        target = field(editor, "Target")
        assert "unknown assistant 'nobody'" in error_text(target)
        target.editor.value = "sales"  # type: ignore[attr-defined]
        await pilot.pause()
        assert error_text(target) == ""
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()

    drive(app, script)
    assert load_config(path).assistant("frontdesk").handoffs[2].target == "sales"


def test_bad_number_shows_error_beside_field_and_blocks_save(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    path = starter_file(tmp_path)
    before = path.read_text()
    app = make_app(path)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        pane = await open_team(app, pilot, "support")
        rate = field(pane, "Speaking rate")
        rate.editor.focus()
        rate.editor.value = "fast"  # type: ignore[attr-defined]
        await pilot.pause()
        assert "valid number" in error_text(rate)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert path.read_text() == before
        rate.editor.value = "1.2"  # type: ignore[attr-defined]
        await pilot.pause()
        assert error_text(rate) == ""
        await pilot.press("ctrl+s")
        await pilot.pause()

    drive(app, script)
    assert load_config(path).assistant("support").voice.length_scale == 1.2


def test_tools_selection_edits_the_assistant(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    app = make_app(starter_file(tmp_path))

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        pane = await open_team(app, pilot, "scheduling")
        tools = app.query_one(SelectionList)
        had = "transfer_to_human" in pane.assistants[pane.index]["tools"]
        tools.toggle("transfer_to_human")
        await pilot.pause()
        now = "transfer_to_human" in pane.assistants[pane.index]["tools"]
        assert now != had

    drive(app, script)


def test_broken_yaml_is_shown_not_crashed(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    path = tmp_path / "voicebox.yaml"
    path.write_text("team:\n  entry: frontdesk\nassistants: [\n", encoding="utf-8")
    app = make_app(path)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f2")
        await pilot.pause()
        title = str(app.query_one("#profile-title", Static).render())
        assert "cannot be edited" in title and "invalid YAML" in title
        await pilot.press("f3")
        await idle(pilot)
        await pilot.pause()
        assert "invalid YAML" in app.query_one(LintPane).findings[0].message
        await pilot.press("ctrl+s")
        await pilot.pause()

    drive(app, script)
    assert path.read_text() == "team:\n  entry: frontdesk\nassistants: [\n"


def test_sip_account_password_is_masked_and_saved(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    path = tmp_path / "new" / "voicebox.yaml"  # no file yet: starts from the starter team
    app = make_app(path)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("f4")
        await pilot.pause()
        pane = app.query_one(SipPane)
        pane.query_one("#accounts").focus()
        await pilot.press("n")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, RecordEditor)
        values = {"Registrar": "pbx.office.lan", "User": "201", "Password": "s3cret-pw"}
        for label, value in values.items():
            f = field(editor, label)
            f.editor.value = value  # type: ignore[attr-defined]
        await pilot.pause()
        assert field(editor, "Password").editor.password  # type: ignore[attr-defined]
        field(editor, "Entry assistant").editor.value = "sales"  # type: ignore[attr-defined]
        field(editor, "Registration expires").editor.value = "5"  # type: ignore[attr-defined]
        await pilot.pause()
        assert "greater than or equal to 10" in error_text(field(editor, "Registration expires"))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, RecordEditor)  # refused
        field(editor, "Registration expires").editor.value = "60"  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, RecordEditor)
        table = pane.query_one("#accounts")
        row = [str(c) for c in table.get_row_at(0)]  # type: ignore[attr-defined]
        assert row[0] == "201@pbx.office.lan" and "s3cret" not in " ".join(row)
        assert row[2] == "•" * 8 and row[3] == "sales"
        await pilot.press("ctrl+s")
        await pilot.pause()

    drive(app, script)
    cfg = load_config(path)
    acc = cfg.sip.accounts[0]
    assert (acc.user, acc.entry, acc.expires_s) == ("201", "sales", 60)
    assert acc.password.get_secret_value() == "s3cret-pw"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # passwords inside: owner only


def test_save_asks_the_daemon_to_reload(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    sock = tmp_path / "c.sock"
    reloads: list[str] = []
    done = threading.Event()

    def reload() -> dict[str, Any]:
        reloads.append(load_config(tmp_path / "voicebox.yaml").assistant("sales").greeting)
        done.set()
        return {
            "type": "reload",
            "ok": True,
            "generation": 2,
            "calls_in_progress": 1,
            "applies_to": "new calls",
            "restart_needed": [],
        }

    server = ControlServer(sock, lambda: {"type": "status", "state": {}}, reload)
    server.start()
    try:
        app = make_app(starter_file(tmp_path), control=sock)

        async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
            pane = await open_team(app, pilot, "sales")
            greet = field(pane, "Greeting")
            greet.editor.value = "Sales here, hello!"  # type: ignore[attr-defined]
            await pilot.pause()
            await pilot.press("ctrl+s")
            for _ in range(50):
                await pilot.pause(0.05)
                if done.is_set() and any("reloaded" in str(n.message) for n in app._notifications):
                    break
            notes = [str(n.message) for n in app._notifications]
            assert any("1 call(s) in progress finish" in n for n in notes), notes

        drive(app, script)
    finally:
        server.stop()
    assert reloads == ["Sales here, hello!"]  # the daemon read the saved file


def test_save_without_daemon_says_so(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    app = make_app(starter_file(tmp_path))

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("ctrl+s")
        await idle(pilot)
        await pilot.pause()
        notes = [str(n.message) for n in app._notifications]
        assert any("daemon is not running" in n for n in notes), notes

    drive(app, script)


def fact_rows(app: VoiceboxApp, list_id: str) -> list[str]:
    box = app.query_one(f"#{list_id}", FactList)
    return [str(item.query_one(Label).render()) for item in box.query(ListItem)]


def test_add_edit_and_delete_a_team_fact(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    path = starter_file(tmp_path)
    app = make_app(path)
    count = len(load_config(path).team.facts)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await open_team(app, pilot, "frontdesk")
        app.query_one("#team-facts", FactList).focus()
        await pilot.press("n")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, FactEditor)
        await pilot.press("ctrl+s")  # empty topic and answer: refused
        await pilot.pause()
        assert isinstance(app.screen, FactEditor)
        assert error_text(field(editor, "Topic")) == "✗ required"
        field(editor, "Topic").editor.value = "holiday closing"  # type: ignore[attr-defined]
        await replace_text(pilot, field(editor, "Answer").editor, "Closed December 24 to 26.")  # type: ignore[arg-type]
        await replace_text(
            pilot,
            field(editor, "Example caller").editor,  # type: ignore[arg-type]
            "Are you open at Christmas?\n\n  When are you closed?  \n",
        )
        assert "✓ valid" in str(editor.query_one("#record-status", Static).render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, FactEditor)
        facts = app.doc.get(("team", "facts"))
        assert len(facts) == count + 1
        assert facts[-1] == {
            "topic": "holiday closing",
            "answer": "Closed December 24 to 26.",
            "examples": ["Are you open at Christmas?", "When are you closed?"],
        }
        row = fact_rows(app, "team-facts")[-1]
        assert row == f" {count + 1}. holiday closing: Closed December 24 to 26."
        long = "opening hours: We are open Monday to Friday 8 am to 6 pm"
        assert fact_rows(app, "team-facts")[0] == f" 1. {long[:43]}…"  # fits at 80x24

        # edit: enter on the fact, a new answer
        box = app.query_one("#team-facts", FactList)
        box.focus()
        box.index = count
        await pilot.press("enter")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, FactEditor)
        area = field(editor, "Answer").editor
        assert isinstance(area, TextArea) and area.text == "Closed December 24 to 26."
        await replace_text(pilot, area, "Closed December 24 to January 1.")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.doc.get(("team", "facts", count, "answer")) == "Closed December 24 to January 1."
        await pilot.press("ctrl+s")  # save the file
        await pilot.pause()
        assert load_config(path).team.facts[-1].answer == "Closed December 24 to January 1."

        # delete: x asks first; n keeps it, y deletes it
        box.focus()
        box.index = count
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "holiday closing" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert len(app.doc.get(("team", "facts"))) == count + 1
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        topics = [f["topic"] for f in app.doc.get(("team", "facts"))]
        assert len(topics) == count and "holiday closing" not in topics
        assert len(fact_rows(app, "team-facts")) == count
        await pilot.press("ctrl+s")
        await pilot.pause()

    drive(app, script)
    assert len(load_config(path).team.facts) == count


def test_assistant_fact_with_a_duplicate_topic_is_marked(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    path = starter_file(tmp_path)
    app = make_app(path)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        pane = await open_team(app, pilot, "support")
        label = str(app.query_one("#facts-label", Label).render())
        assert label.startswith("Facts of support only")
        own = len(app.doc.get(("assistants", pane.index, "facts")) or [])
        assert len(fact_rows(app, "facts")) == own
        app.query_one("#facts", FactList).focus()
        await pilot.press("n")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, FactEditor)
        field(editor, "Topic").editor.value = "Opening hours"  # type: ignore[attr-defined]
        await replace_text(pilot, field(editor, "Answer").editor, "Support works 9 to 5.")  # type: ignore[arg-type]
        status = str(editor.query_one("#record-status", Static).render())
        assert "duplicate topic" in status and "contradicts team.facts[0]" in status
        await pilot.press("ctrl+s")  # a warning does not block
        await pilot.pause()
        assert not isinstance(app.screen, FactEditor)
        facts = app.doc.get(("assistants", pane.index, "facts"))
        assert facts[-1]["topic"] == "Opening hours" and facts[-1]["examples"] == []
        rows = fact_rows(app, "facts")
        assert rows[-1].startswith(f"!{own + 1}. Opening hours")  # the warning's mark
        note = str(app.query_one("#facts-error", Static).render())
        assert "duplicate topic" in note
        # the team list is unchanged, and another assistant does not show support's fact
        assert not any(r.startswith("!") for r in fact_rows(app, "team-facts"))
        app.query_one(TeamList).focus()
        app.query_one(TeamList).index = [a["name"] for a in pane.assistants].index("sales")
        await pilot.pause()
        assert not any("Opening hours" in r for r in fact_rows(app, "facts"))
        await pilot.press("ctrl+s")
        await pilot.pause()

    drive(app, script)
    assert load_config(path).assistant("support").facts[-1].answer == "Support works 9 to 5."
