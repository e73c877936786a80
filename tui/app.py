"""`voicebox tui`: the technician's terminal UI. One tab per job; F1-F7 switch tabs, Ctrl+S saves
the configuration (validated, atomic, with a backup) and asks the running daemon to reload it."""

from __future__ import annotations

import logging
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Footer, Header, TabbedContent, TabPane

from appliance.errors import ConfigError
from tui.document import ConfigDocument
from tui.pane import ConfigChanged, Pane
from tui.team import TeamLoader

_LOGGER = logging.getLogger(__name__)

TABS = (
    ("dashboard", "F1 Dash"),
    ("assistants", "F2 Assistants"),
    ("lint", "F3 Lint"),
    ("sip", "F4 SIP"),
    ("console", "F5 Console"),
    ("flows", "F6 Flows"),
    ("calls", "F7 Calls"),
)


class VoiceboxApp(App[None]):
    TITLE = "voicebox"
    CSS_PATH = "voicebox.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+q", "quit", "Quit"),
        *(
            Binding(f"f{i + 1}", f"show('{tab}')", label, show=False)
            for i, (tab, label) in enumerate(TABS)
        ),
    ]

    def __init__(
        self,
        config: Path,
        *,
        control: Path,
        db: Path,
        flows_dir: Path | None = None,
        llm: str | None = None,
    ) -> None:
        super().__init__()
        self.doc = ConfigDocument.open(config)
        self.control_path = control
        self.db_path = db
        self.flows_dir = flows_dir or config.parent
        self.team = TeamLoader(llm)
        self.sub_title = str(config)

    def compose(self) -> ComposeResult:
        from tui.assistants import AssistantsPane
        from tui.calls_pane import CallsPane
        from tui.console_pane import ConsolePane
        from tui.dashboard import Dashboard
        from tui.flows_pane import FlowsPane
        from tui.lint_pane import LintPane
        from tui.sip_pane import SipPane

        panes = {
            "dashboard": Dashboard,
            "assistants": AssistantsPane,
            "lint": LintPane,
            "sip": SipPane,
            "console": ConsolePane,
            "flows": FlowsPane,
            "calls": CallsPane,
        }
        yield Header()
        with TabbedContent(initial="dashboard"):
            for tab, label in TABS:
                with TabPane(label, id=tab):
                    yield panes[tab](id=f"{tab}-pane")
        yield Footer()

    def action_show(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        pane = self.query_one(f"#{tab}-pane")
        if isinstance(pane, Pane):
            self.call_after_refresh(pane.enter)

    def changed(self, origin: Widget | None = None) -> None:
        """Tell every pane that the document changed."""
        for pane in self.query("TabPane > *"):
            pane.post_message(ConfigChanged(origin))

    def action_save(self) -> None:
        try:
            backup = self.doc.save()
        except ConfigError as err:
            first = err.problems[0] if err.problems else err.message
            self.notify(f"Not saved: {err.message}\n{first}", severity="error", timeout=8)
            self.action_show("lint")
            return
        self.changed()
        note = f" (previous version: {backup.name})" if backup else ""
        self.notify(f"Saved {self.doc.path}{note}", timeout=4)
        self.run_worker(self._reload, thread=True, group="reload", exclusive=True)

    def _reload(self) -> None:
        from appliance.control import ControlError, request

        try:
            reply = request(self.control_path, {"cmd": "reload"}, timeout=60.0)
        except ControlError as err:
            self.call_from_thread(
                self.notify,
                f"Saved; not reloaded: {err.message}. The daemon reads the file when it starts.",
                timeout=6,
            )
            return
        if reply.get("ok"):
            calls = reply.get("calls_in_progress", 0)
            msg = "Daemon reloaded: new calls use the new configuration"
            if calls:
                msg += f"; {calls} call(s) in progress finish on the one they started with"
            if reply.get("restart_needed"):
                msg += f". Restart needed for: {', '.join(reply['restart_needed'])}"
            self.call_from_thread(self.notify, msg, timeout=8)
        else:
            errors = "; ".join(reply.get("errors", []))[:300]
            self.call_from_thread(
                self.notify, f"The daemon refused the reload: {errors}", severity="error"
            )

    def on_unmount(self) -> None:
        self.team.close()


def run_tui(
    config: Path, control: Path, db: Path, flows_dir: Path | None, llm: str | None
) -> int:
    VoiceboxApp(config, control=control, db=db, flows_dir=flows_dir, llm=llm).run()
    return 0
