"""F6 Flows: run a flow file (scripted conversations with expectations, see README "Flow files")
against the configuration being edited, scenario by scenario, and drill into a scenario's turns.

The engine loads in a thread worker (seconds) and the scenarios run there too; results come back
to the pane as messages. The flow file's own `config:` is ignored: the point is to test the edits.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from appliance.config import Config
from appliance.errors import VoiceboxError
from appliance.flows import FlowFile, load_flows, run_flows
from tui.pane import ConfigChanged, Pane

_LOGGER = logging.getLogger(__name__)
PENDING = Text("...", "dim")
RUNNING = Text("run", "bold")


class _Stopped(Exception):
    """The worker was cancelled (the app is closing): stop after the current turn."""


@dataclass
class ScenarioResult:
    name: str
    done: bool = False
    problem: str | None = None
    turns: list[dict[str, Any]] = field(default_factory=list)


class TurnDone(Message):
    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__()
        self.record = record


class ScenarioDone(Message):
    def __init__(self, name: str, problem: str | None) -> None:
        super().__init__()
        self.name = name
        self.problem = problem


class RunFinished(Message):
    def __init__(self, error: str | None = None) -> None:
        super().__init__()
        self.error = error


class EngineReady(Message):
    """The team is loaded; the first scenario starts."""


def _expected(exp: dict[str, Any]) -> str:
    parts = [f"assistant {exp['assistant']}"] if "assistant" in exp else []
    parts += [f"slot {k}={v!r}" for k, v in exp.get("slots", {}).items()]
    parts += [f"reply contains {p!r}" for p in exp.get("reply_contains", [])]
    return ", ".join(parts) or "(nothing)"


def turn_lines(rec: dict[str, Any]) -> list[Text]:
    """One turn record of `appliance.flows.turn_record`, for people."""
    ok = rec["mismatch"] is None
    head = Text.assemble(
        (f"turn {rec['turn']}  ", "bold"),
        ("ok" if ok else "FAIL", "green" if ok else "bold red"),
        f"  caller: {rec['caller']}",
    )
    d = rec["decision"]
    target = d["target"] or "none"
    top = sorted(d["scores"].items(), key=lambda kv: -kv[1])[:3]
    scores = ", ".join(f"{k} {v:.2f}" for k, v in top)
    out = [
        head,
        Text(f"  expected: {_expected(rec['expected'])}"),
        Text(f"  got:      assistant {rec['assistant']}", "cyan"),
        Text(f"  routing:  {d['path']} -> {target}: {d['reason']}" + (f"  [{scores}]" * bool(top))),
    ]
    h = rec.get("handoff")
    if h:
        out.append(Text(f"  handoff:  {h['from']} -> {h['to']} ({h['path']})", "green"))
    out.append(Text(f"  reply:    {rec['reply']}"))
    if rec["slots"]:
        out.append(Text("  slots:    " + ", ".join(f"{k}={v}" for k, v in rec["slots"].items())))
    if not ok:
        out.append(Text(f"  mismatch: {rec['mismatch']}", "bold red"))
    return out


class ScenarioScreen(Screen[None]):
    """One scenario's turns: what the caller said, what was expected, what happened."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, result: ScenarioResult) -> None:
        super().__init__()
        self.result = result
        self.lines: list[Text] = []
        for rec in result.turns:
            self.lines += [*turn_lines(rec), Text("")]

    def compose(self) -> ComposeResult:
        r = self.result
        verdict = Text("PASS", "bold green") if r.problem is None else Text("FAIL", "bold red")
        title = Text.assemble(verdict, f"  {r.name}", (f"  {r.problem}" if r.problem else ""))
        yield Static(title, id="scenario-title")
        with VerticalScroll(id="scenario-body", can_focus=True):
            yield Static(Text("\n").join(self.lines), id="scenario-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#scenario-body").focus()


class FlowTable(DataTable[str | Text]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "run_again", "Run again")]

    def action_run_again(self) -> None:
        pane = next(a for a in self.ancestors if isinstance(a, FlowsPane))
        pane.run_again()


class FlowsPane(Pane):
    """Flow file picker, status line and the scenarios table."""

    DEFAULT_CSS = """
    FlowsPane #flow-path { margin: 1 0 0 0; }
    FlowsPane #flow-files { max-height: 5; }
    FlowsPane #flow-status { height: auto; max-height: 3; }
    FlowsPane #flow-table { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.results: list[ScenarioResult] = []
        self.running = False
        self.last_path: Path | None = None
        self._current = 0
        self._note = ""  # shown with the progress until the run ends
        self._config_note = ""
        self._loading = False
        self._stop = threading.Event()  # set: the worker stops after the current turn
        self._idle = threading.Event()  # set: no worker thread uses the engine
        self._idle.set()
        self._files: list[Path] = []

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="flow file: pick below or type a path, Enter runs it",
            id="flow-path",
            compact=True,
        )
        yield OptionList(id="flow-files", compact=True)
        yield Static("", id="flow-status")
        table = FlowTable(id="flow-table", cursor_type="row", zebra_stripes=True)
        table.add_column("result", width=6, key="result")
        table.add_column("scenario", width=30, key="name")
        table.add_column("problem", key="problem")
        yield table

    @property
    def busy(self) -> bool:
        """A worker thread is still using the engine (it may outlive `running` at shutdown)."""
        return not self._idle.is_set()

    # -- files ------------------------------------------------------------------------------

    @property
    def flows_dir(self) -> Path:
        return self.vapp.flows_dir

    def list_files(self) -> None:
        files = self.query_one("#flow-files", OptionList)
        found = (
            sorted(p for p in self.flows_dir.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))
            if self.flows_dir.is_dir()
            else []
        )
        if found == self._files and files.option_count:
            return  # unchanged: keep the highlight
        self._files = found
        files.clear_options()
        if not found:
            files.add_option(Option(f"(no flow files in {self.flows_dir})", disabled=True))
            return
        files.add_options(Option(p.name, id=str(p)) for p in found)

    def resolve(self, text: str) -> Path:
        path = Path(text.strip()).expanduser()
        if path.is_absolute():
            return path
        near = self.flows_dir / path
        return near if near.exists() else Path.cwd() / path

    def on_show(self) -> None:
        self.list_files()
        if not self.running and not self.results:
            self.status(f"Pick a flow file from {self.flows_dir} or type a path.", "hint")

    @on(OptionList.OptionSelected, "#flow-files")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            path = Path(event.option.id)
            self.query_one("#flow-path", Input).value = path.name
            self.run_file(path)

    @on(Input.Submitted, "#flow-path")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.run_file(self.resolve(event.value))

    # -- running ----------------------------------------------------------------------------

    def status(self, text: str, level: str = "") -> None:
        widget = self.query_one("#flow-status", Static)
        widget.update(Text(text))
        widget.set_classes(level)

    def _counts(self) -> str:
        passed = sum(1 for r in self.results if r.done and r.problem is None)
        failed = sum(1 for r in self.results if r.done and r.problem is not None)
        return f"{passed} passed, {failed} failed"

    def run_again(self) -> None:
        if self.last_path is None:
            self.status("Nothing run yet: pick a flow file.", "hint")
        else:
            self.run_file(self.last_path)

    def run_file(self, path: Path) -> None:
        """Check everything that is quick (not running, config valid, file valid), then start
        the worker."""
        if self.running:
            self._note = "already running: the new request was ignored"
            self._progress()
            self.app.notify("Flow tests are already running.", severity="warning", timeout=3)
            return
        cfg, findings = self.doc.validate()
        if cfg is None:
            first = str(findings[0]) if findings else "invalid"
            self.status(
                f"The configuration has {len(findings)} error(s), not running: {first} (F3 Lint)",
                "error",
            )
            return
        try:
            flows = load_flows(path)
        except VoiceboxError as err:
            self.status(err.message, "error")
            return
        self.last_path = path
        self._start(flows, cfg, path)

    def _start(self, flows: FlowFile, cfg: Config, path: Path) -> None:
        self.results = [ScenarioResult(sc.name) for sc in flows.scenarios]
        self._current = 0
        self._note = ""
        self._loading = True
        self._config_note = ""
        if flows.config:
            self._config_note = f"its config: {flows.config} is ignored: running the edited one"
        table = self.query_one(FlowTable)
        table.clear()
        for i, sc in enumerate(flows.scenarios):
            table.add_row(PENDING, sc.name, "", key=str(i))
        self.running = True
        self._progress()
        self._stop.clear()
        self._idle.clear()
        self.run_worker(
            partial(self._work, flows, cfg), thread=True, group="flows", name=f"flows {path.name}"
        )

    def _work(self, flows: FlowFile, cfg: Config) -> None:
        """Thread: load (or reuse) the engine and run the scenarios; results go back as messages."""
        worker = get_current_worker()

        def check() -> None:
            if worker.is_cancelled or self._stop.is_set():
                raise _Stopped

        try:
            self._run(flows, cfg, check)
        finally:
            self._idle.set()

    def _run(self, flows: FlowFile, cfg: Config, check: Callable[[], None]) -> None:
        with self.vapp.team.busy():
            self._run_flows(flows, cfg, check)

    def _run_flows(self, flows: FlowFile, cfg: Config, check: Callable[[], None]) -> None:
        def on_turn(record: dict[str, Any]) -> None:
            self.post_message(TurnDone(record))
            check()

        def on_scenario(name: str, problem: str | None) -> None:
            self.post_message(ScenarioDone(name, problem))
            check()

        try:
            engine = self.vapp.team.engine(cfg)
            check()
            self.post_message(EngineReady())
            run_flows(flows, engine, on_turn=on_turn, on_scenario=on_scenario)
        except _Stopped:
            self.post_message(RunFinished("stopped"))
            return
        except VoiceboxError as err:
            self.post_message(RunFinished(err.message))
            return
        except Exception as err:  # a bug must not leave the pane "running" forever
            _LOGGER.exception("flow run failed")
            self.post_message(RunFinished(f"{type(err).__name__}: {err}"))
            return
        self.post_message(RunFinished())

    def _progress(self) -> None:
        """The status line while running: phase, counts and notes."""
        n = len(self.results)
        if self._loading:
            text = f"{n} scenario(s), loading the team..."
        else:
            done = sum(1 for r in self.results if r.done)
            text = f"running {min(done + 1, n)}/{n}: {self._counts()}"
            if done < n:
                self.query_one(FlowTable).update_cell(str(done), "result", RUNNING)
        name = self.last_path.name if self.last_path else ""
        notes = "".join(f" ({note})" for note in (self._note, self._config_note) if note)
        self.status(f"{name}: {text}{notes}", "warning" if self._note else "")

    @on(EngineReady)
    def _engine_ready(self, event: EngineReady) -> None:
        self._loading = False
        self._progress()

    @on(TurnDone)
    def _turn_done(self, event: TurnDone) -> None:
        if self._current < len(self.results):
            self.results[self._current].turns.append(event.record)

    @on(ScenarioDone)
    def _scenario_done(self, event: ScenarioDone) -> None:
        if self._current >= len(self.results):
            return
        r = self.results[self._current]
        r.done, r.problem = True, event.problem
        table = self.query_one(FlowTable)
        key = str(self._current)
        verdict = Text("PASS", "bold green") if r.problem is None else Text("FAIL", "bold red")
        table.update_cell(key, "result", verdict)
        table.update_cell(key, "problem", r.problem or "", update_width=True)
        self._current += 1
        if self._current < len(self.results):
            self._progress()

    @on(RunFinished)
    def _finished(self, event: RunFinished) -> None:
        self.running = False
        name = self.last_path.name if self.last_path else ""
        if event.error:
            self.status(f"{name}: run stopped: {event.error} ({self._counts()})", "error")
            return
        failed = any(r.problem for r in self.results)
        self.status(
            f"{name}: {self._counts()}" + ("  Enter: details, r: run again" if failed else ""),
            "error" if failed else "",
        )

    @on(DataTable.RowSelected, "#flow-table")
    def _drill(self, event: DataTable.RowSelected) -> None:
        event.stop()
        index = int(event.row_key.value or 0)
        if index >= len(self.results) or not self.results[index].done:
            self.app.notify("That scenario has not run yet.", timeout=3)
            return
        self.app.push_screen(ScenarioScreen(self.results[index]))

    async def on_unmount(self) -> None:
        """The app closes the engine after the panes are gone: let the worker finish its turn
        first (a thread cannot be killed, and a closed model under it crashes the process)."""
        if not self._idle.is_set():
            self._stop.set()
            while not self._idle.is_set():
                await asyncio.sleep(0.05)

    def on_config_changed(self, event: ConfigChanged) -> None:
        if self.results and not self.running:
            self.status(f"{self._counts()} (the configuration changed since: r runs again)", "hint")
