"""`voicebox tui`: the technician's terminal UI. One tab per job; F1-F8 switch tabs, Ctrl+S saves
the configuration (validated, atomic, with a backup) and asks the running daemon to reload it."""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import os
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Footer, Header, TabbedContent, TabPane

from appliance.errors import ConfigError
from tui.document import ConfigDocument, FileChangedError
from tui.pane import ConfigChanged, Pane
from tui.team import TeamLoader

_LOGGER = logging.getLogger(__name__)
FORCE_WINDOW_S = 5.0  # a second Ctrl+S this soon after a "changed on disk" refusal saves anyway
LOG_MAX_BYTES = 1 << 20  # tui.log rotates at 1 MB, keeping 3 old files
LOG_BACKUPS = 3

TABS = (
    ("dashboard", "F1 Dash"),
    ("assistants", "F2 Assistants"),
    ("lint", "F3 Lint"),
    ("sip", "F4 SIP"),
    ("console", "F5 Console"),
    ("flows", "F6 Flows"),
    ("calls", "F7 Calls"),
    ("integrations", "F8 Office"),
)


class VoiceboxApp(App[None]):
    TITLE = "voicebox"
    CSS_PATH = "voicebox.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+r", "reload_file", "Reload file", show=False),
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
        self._refused_at: float | None = None  # when a save was refused: file changed on disk

    def on_mount(self) -> None:
        if self.doc.has_comments:
            self.notify(
                "comments in this file are not kept when you save (the TUI writes the settings; "
                "the previous version is kept as .bak)",
                severity="warning",
                timeout=10,
            )

    def compose(self) -> ComposeResult:
        from tui.assistants import AssistantsPane
        from tui.calls_pane import CallsPane
        from tui.console_pane import ConsolePane
        from tui.dashboard import Dashboard
        from tui.flows_pane import FlowsPane
        from tui.integrations_pane import IntegrationsPane
        from tui.lint_pane import LintPane
        from tui.sip_pane import SipPane

        panes: dict[str, Callable[..., Widget]] = {
            "dashboard": Dashboard,
            "assistants": AssistantsPane,
            "lint": LintPane,
            "sip": SipPane,
            "console": ConsolePane,
            "flows": FlowsPane,
            "calls": CallsPane,
            "integrations": IntegrationsPane,
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
        refused, self._refused_at = self._refused_at, None
        force = refused is not None and time.monotonic() - refused < FORCE_WINDOW_S
        try:
            backup = self.doc.save(force=force)
        except FileChangedError:
            self._refused_at = time.monotonic()
            self.notify(
                "Not saved: the file changed on disk since you opened it. Ctrl+R reloads it "
                f"(your edits are lost); Ctrl+S again within {FORCE_WINDOW_S:.0f} s saves "
                "anyway (the other changes are lost, kept in .bak).",
                severity="error",
                timeout=10,
            )
            return
        except OSError as err:
            self.notify(f"Not saved: {err}", severity="error", timeout=8)
            return
        except ConfigError as err:
            if not err.problems and self.doc.readable:  # not the settings: e.g. the owner
                self.notify(f"Not saved: {err.message}", severity="error", timeout=10)
                return
            first = err.problems[0] if err.problems else err.message
            self.notify(f"Not saved: {err.message}\n{first}", severity="error", timeout=8)
            self.action_show("lint")
            return
        self.changed()
        note = f" (previous version: {backup.name})" if backup else ""
        self.notify(f"Saved {self.doc.path}{note}", timeout=4)
        self.run_worker(self._reload, thread=True, group="reload", exclusive=True)

    def action_reload_file(self) -> None:
        """Read the config file again (after someone else changed it); edits not saved are
        dropped."""
        self._refused_at = None
        self.doc.reload()
        self.changed()
        if not self.doc.readable:
            self.notify(f"Reloaded; {self.doc.load_errors[0]}", severity="error", timeout=8)
        else:
            self.notify(f"Reloaded {self.doc.path} from disk", timeout=4)

    def _reload(self) -> None:
        from appliance.daemon.control_client import ControlError, request

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


class _PrivateLog(logging.handlers.RotatingFileHandler):
    """A rotating log whose every file (the new one after a rollover too) is 0600."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


def log_to_file(path: Path) -> logging.Handler:
    """Send every log line to `path` (the screen belongs to Textual), rotated at LOG_MAX_BYTES
    with LOG_BACKUPS old files (`tui.log.1` ...), 0600 like the other files of the box."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)  # a tui.log of an earlier version may be world-readable
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = _PrivateLog(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return handler


def run_tui(
    config: Path, control: Path, db: Path, flows_dir: Path | None, llm: str | None
) -> int:
    VoiceboxApp(config, control=control, db=db, flows_dir=flows_dir, llm=llm).run()
    return 0
