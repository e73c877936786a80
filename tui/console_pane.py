"""The test console (F5): the technician talks to the team as a caller, in text, on the edited
configuration, and sees every turn's evidence: the routing decision with its scores, the slots,
the handoff with its profile-switch time, and who replied how fast.

Inference blocks (seconds for the first load), so every turn runs in a thread worker; events
come back to the event loop as messages (`post_message` is thread-safe). One turn at a time: a
line typed while a turn runs is refused with a message and stays in the input.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, RichLog, Select, Static

from appliance.events import (
    AssistantReply,
    ConversationEnded,
    ConversationStarted,
    Event,
    FactsRetrieved,
    HandoffCompleted,
    HandoffStarted,
    ReplyCutOff,
    RoutingDecided,
    SentenceBlocked,
    SlotsUpdated,
)
from tui.pane import ConfigChanged, Pane

if TYPE_CHECKING:
    from appliance.config import Config
    from appliance.conversation import Conversation

_LOGGER = logging.getLogger(__name__)

MAX_SCORES = 5
LOADING = "loading the team (model, profiles)..."
HELP = "Type as the caller; Enter sends, Ctrl+N starts a new conversation."
BUSY = "still working on the last line: wait for the reply (your text stays in the input)"


def scores_text(scores: dict[str, float], limit: int = MAX_SCORES) -> str:
    """`sales 0.82  stay 0.41  support 0.30` (best first, at most `limit`)."""
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    text = "  ".join(f"{k} {v:.2f}" for k, v in ranked[:limit])
    return text + (f"  +{len(ranked) - limit}" if len(ranked) > limit else "")


def ms(value: float) -> str:
    """`0.4 ms`, `12 ms`: a decimal only where it matters."""
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


def _said(who: str, text: str, note: str = "") -> Text:
    out = Text.assemble((who, "bold green"), " › ", text)
    if note:
        out.append(f"  ({note})", style="dim")
    return out


def _detail(text: str, style: str = "dim") -> Text:
    return Text("  " + text, style=style)


class TurnView:
    """Turns conversation events into log lines (pure: no widgets, easy to test)."""

    def __init__(self) -> None:
        self._handoff: HandoffStarted | None = None

    def render(self, event: Event) -> list[Text]:
        if isinstance(event, ConversationStarted):
            return [Text(f"── new conversation with {event.assistant} ──", style="bold")]
        if isinstance(event, RoutingDecided):
            return [self._route(event)]
        if isinstance(event, SlotsUpdated):
            changed = ", ".join(f"{k}={event.slots.get(k, '')}" for k in event.changed)
            return [_detail(f"slots: {changed}  (known: {', '.join(event.slots)})", "cyan")]
        if isinstance(event, HandoffStarted):
            self._handoff = event
            return [_said(event.from_assistant, event.announcement, "announcement")]
        if isinstance(event, HandoffCompleted):
            src = self._handoff.from_assistant if self._handoff else "?"
            path = self._handoff.path if self._handoff else "?"
            self._handoff = None
            return [
                _detail(
                    f"↪ handoff {src} → {event.assistant} ({path}) · switch "
                    f"{ms(event.switch_ms)} · carry-over {event.carryover_tokens} tokens",
                    "bold yellow",
                )
            ]
        if isinstance(event, AssistantReply):
            if event.turn == 0:
                return [_said(event.assistant, event.text, "greeting")]
            note = f"first token {ms(event.first_token_ms)}, total {ms(event.total_ms)}"
            return [_said(event.assistant, event.text, note)]
        if isinstance(event, ReplyCutOff):
            return [_detail(f"cut off; the caller heard: {event.heard}")]
        if isinstance(event, FactsRetrieved):
            if not event.topics:
                return [_detail("facts: none for this question")]
            pairs = zip(event.topics, event.scores, strict=False)
            used = ", ".join(f"{topic} {score:.2f}" for topic, score in pairs)
            return [_detail(f"facts: {used}", "cyan")]
        if isinstance(event, SentenceBlocked):
            why = ", ".join(event.claims)
            lines = [_detail(f"✗ not said (no fact for {why}): {event.sentence}", "red")]
            if event.instead:
                lines.append(_detail(f"  said instead: the fact '{event.instead}'", "cyan"))
            return lines
        if isinstance(event, ConversationEnded):
            return [Text(f"── conversation ended after {event.turns} turn(s) ──", style="dim")]
        return []  # the caller's line is written when it is sent

    @staticmethod
    def _route(e: RoutingDecided) -> Text:
        if e.outcome == "handoff":
            verdict, style = f"handoff → {e.target}", "yellow"
        elif e.outcome == "refused":
            verdict = f"refused → {e.target}" if e.target else "refused"
            style = "red"
        else:
            verdict, style = "stay", "dim"
        line = Text("  route ", style="dim")
        line.append(verdict, style=style)
        line.append(f" · {e.path} · {ms(e.latency_ms)}", style="dim")
        if e.scores:
            line.append(f" · {scores_text(e.scores)}", style="dim")
        if e.outcome == "refused" or e.path != "fast":
            line.append(f" · {e.reason}", style="red" if e.outcome == "refused" else "dim")
        return line


class _FromThread(Message):
    """A call for the event loop, posted by the worker (post_message is thread-safe and does
    not wait: a worker still running while the app closes cannot hang on it)."""

    def __init__(self, fn: Callable[..., Any], args: tuple[object, ...]) -> None:
        super().__init__()
        self.fn = fn
        self.args = args


@dataclass
class _Job:
    """One piece of work for the thread: maybe a new conversation, maybe a caller line."""

    cfg: Config | None  # start a new conversation on this config (None: keep the current one)
    assistant: str
    text: str | None


class ConsolePane(Pane):
    """Talk to any assistant as a caller and watch routing, slots and handoffs per turn."""

    DEFAULT_CSS = """
    ConsolePane { height: 1fr; layout: vertical; }
    ConsolePane #console-bar { height: 1; }
    ConsolePane #console-bar Label { width: auto; padding: 0 1 0 0; }
    ConsolePane #console-assistant { width: 26; }
    ConsolePane #console-status { width: 1fr; padding: 0 0 0 1; color: $text-muted; }
    ConsolePane #console-log { height: 1fr; }
    ConsolePane #console-line { height: 1; }
    ConsolePane #console-line Label { width: auto; }
    ConsolePane #console-input { width: 1fr; }
    """
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("ctrl+n", "new_conversation", "New conversation"),
        Binding("ctrl+l", "clear_log", "Clear", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.conversation: Conversation | None = None
        self.busy = False
        self.transcript: list[str] = []  # the log as plain text (tests, copy)
        self._selected: str | None = None
        self._stale_noted = False
        self._view = TurnView()
        self._live: Conversation | None = None  # the worker's conversation (for unmount)
        self._idle = threading.Event()
        self._idle.set()

    def compose(self) -> ComposeResult:
        with Horizontal(id="console-bar"):
            yield Label("Talk to")
            yield Select[str]([], id="console-assistant", compact=True, prompt="assistant")
            yield Static("", id="console-status")
        yield RichLog(id="console-log", wrap=True, markup=False, min_width=40)
        with Horizontal(id="console-line"):
            yield Label("you › ")
            yield Input(
                id="console-input", compact=True, placeholder="what the caller says (Enter)"
            )

    def on_mount(self) -> None:
        self._refresh_assistants()
        self._write(Text(HELP, style="dim"))
        self._status()

    def on_show(self) -> None:
        # after the tab switch settles (the tabs would keep the focus otherwise)
        self.call_after_refresh(self.query_one("#console-input", Input).focus)

    # -- the assistant chooser ----------------------------------------------------------------

    def _names(self) -> tuple[list[str], str | None]:
        data = self.doc.data
        names = [
            str(a["name"])
            for a in data.get("assistants") or []
            if isinstance(a, dict) and a.get("name")
        ]
        entry = (data.get("team") or {}).get("entry")
        return names, entry if entry in names else (names[0] if names else None)

    def _refresh_assistants(self) -> None:
        names, entry = self._names()
        keep = self._selected if self._selected in names else entry
        select = self.query_one("#console-assistant", Select)
        with self.prevent(Select.Changed):
            select.set_options([(n, n) for n in names])
            if keep is not None:
                select.value = keep
        self._selected = keep

    @on(Select.Changed, "#console-assistant")
    def _chosen(self, event: Select.Changed) -> None:
        value = event.value if isinstance(event.value, str) else None
        if value is None or value == self._selected:
            return
        self._selected = value
        if self.conversation is None or self.busy:
            self._write(_detail(f"the next conversation starts with {value} (Ctrl+N)"))
        else:
            self.action_new_conversation()

    def on_config_changed(self, _message: ConfigChanged) -> None:
        self._refresh_assistants()
        if self.conversation is not None and not self._stale_noted:
            self._stale_noted = True
            self._write(_detail("configuration edited: Ctrl+N starts a conversation on it"))

    # -- actions ------------------------------------------------------------------------------

    def action_clear_log(self) -> None:
        self.query_one("#console-log", RichLog).clear()
        self.transcript.clear()

    def action_new_conversation(self) -> None:
        if self.busy:
            self._write(_detail(BUSY, "yellow"))
            return
        self._start(self._new_job(None))

    @on(Input.Submitted, "#console-input")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if self.busy:
            self._write(_detail(BUSY, "yellow"))
            return
        if self.conversation is None:
            job = self._new_job(text)
        else:
            job = _Job(None, self.conversation.current, text)
        if job is not None:
            event.input.clear()
        self._start(job)

    def _new_job(self, text: str | None) -> _Job | None:
        """A job for a new conversation on the edited config, or None (config invalid)."""
        doc = self.doc
        cfg, findings = doc.validate()
        if cfg is None:
            problems = [*doc.load_errors, *(str(f) for f in findings)]
            self._write(
                Text(
                    f"cannot start: the configuration has {len(problems)} error(s); "
                    "fix them first (F3 Lint):",
                    style="bold red",
                )
            )
            for p in problems[:6]:
                self._write(_detail(f"• {p}", "red"))
            if len(problems) > 6:
                self._write(_detail(f"... and {len(problems) - 6} more", "red"))
            return None
        names = [a.name for a in cfg.assistants]
        name = self._selected if self._selected in names else cfg.team.entry
        return _Job(doc.resolved(cfg), name, text)

    def _start(self, job: _Job | None) -> None:
        if job is None:
            return
        self.busy = True
        if job.cfg is not None:
            self._stale_noted = False
            if not self.vapp.team.loaded:
                self._write(Text(LOADING, style="italic"))
                self._status(LOADING)
            else:
                self._status("starting a conversation...")
        if job.text is not None:
            self._status("thinking...")
        self._idle.clear()
        self.run_worker(lambda: self._work(job), thread=True, group="console", name="console")

    # -- the worker thread --------------------------------------------------------------------

    def _work(self, job: _Job) -> None:
        with self.vapp.team.busy():
            self._turn(job)

    def _turn(self, job: _Job) -> None:
        conv = self.conversation
        try:
            if job.cfg is not None:
                if conv is not None:
                    old, conv = conv, None
                    old.end("new conversation in the test console")
                engine = self.vapp.team.engine(job.cfg)
                conv = engine.new_conversation(
                    channel="text", assistant=job.assistant, listeners=[self._listen]
                )
                self._live = conv
                conv.start()
            if job.text is not None and conv is not None:
                self._call(self._caller_line, job.text)
                conv.handle(job.text)
        except Exception as err:
            _LOGGER.exception("test console turn failed")
            self._call(self._failed, f"{type(err).__name__}: {err}")
        finally:
            self._call(self._finished, conv)
            self._idle.set()

    def _listen(self, event: Event) -> None:
        self._call(self._show_event, event)

    def _call(self, fn: Callable[..., Any], *args: object) -> None:
        try:
            self.post_message(_FromThread(fn, args))
        except RuntimeError:  # the event loop is closed: the app is gone
            _LOGGER.debug("console: app gone, dropped %s", fn)

    @on(_FromThread)
    def _from_thread(self, message: _FromThread) -> None:
        message.fn(*message.args)

    # -- back on the event loop ---------------------------------------------------------------

    def _show_event(self, event: Event) -> None:
        for line in self._view.render(event):
            self._write(line)

    def _caller_line(self, text: str) -> None:
        self._write(Text.assemble(("you", "bold cyan"), " › ", text))
        self._status("thinking...")

    def _failed(self, message: str) -> None:
        self._write(Text(f"error: {message}", style="bold red"))

    def _finished(self, conv: Conversation | None) -> None:
        self.conversation = conv
        self.busy = False
        self._status()

    def _status(self, text: str | None = None) -> None:
        if text is None:
            conv = self.conversation
            text = (
                f"{conv.current} · turn {conv.turn} · Ctrl+N new"
                if conv is not None
                else "Ctrl+N or type to start"
            )
        self.query_one("#console-status", Static).update(text)

    def _write(self, line: Text) -> None:
        self.transcript.append(line.plain)
        self.query_one("#console-log", RichLog).write(line)

    def on_unmount(self) -> None:
        for conv in (self.conversation, self._live):
            if conv is not None:
                conv.cancel.set()  # a running reply stops at its next token
        # the app closes the model after this: let a running turn leave it first
        if not self._idle.wait(10.0):
            _LOGGER.warning("console: a turn was still running when the TUI closed")
