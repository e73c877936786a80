"""The Dashboard tab: the daemon's live picture from its control socket (registrations, active
calls with their handoff timeline, counters), today's totals from the store, and the box's CPU
and memory. Says clearly when the daemon is not running, and reconnects by itself."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from appliance.daemon.live_state import slots_line
from tui.calls_pane import CallLog, StoreUnreadable
from tui.dialogs import AskScreen
from tui.pane import Pane
from tui.sysinfo import CpuMeter, load1, memory

_LOGGER = logging.getLogger(__name__)
RETRY_S = 2.0


def _duration(started: Any) -> str:
    try:
        s = max(0, int(time.time() - float(started)))
    except (TypeError, ValueError):
        return "?"
    return f"{s // 60}:{s % 60:02d}"


def _path(call: dict[str, Any]) -> str:
    """frontdesk > sales > reception: who had the caller, in order (LiveState keeps it)."""
    return " > ".join(call.get("path") or [str(call.get("assistant", ""))])


def store_line(store: Any) -> str:
    """One line on the daemon's store (its status "store"): loud when calls are not recorded."""
    if not isinstance(store, dict) or store.get("state") in (None, "none"):
        return ""
    state, errors = store.get("state"), int(store.get("write_errors") or 0)
    if state == "off":
        return f"⚠ store OFF: calls are answered but not recorded ({store.get('message', '')})"
    if state == "recovered":
        line = f"⚠ store recovered: corrupt file kept as {store.get('moved_to')}; new store started"
    else:
        line = f"store ok: {store.get('path', '')}"
    if store.get("interrupted"):
        line += f" · {store['interrupted']} call(s) of an earlier run closed as interrupted"
    if errors:
        line += f" · ⚠ {errors} write(s) failed, last: {store.get('last_error', '')}"
    return line


def check_call(values: dict[str, str]) -> str | None:
    """The dial form's check: a SIP address (the daemon checks the assistant)."""
    uri = values.get("uri", "")
    if not uri.startswith(("sip:", "sips:")) or " " in uri:
        return "a SIP address, e.g. sip:203@192.168.1.10"
    return None


class Dashboard(Pane):
    BINDINGS = [
        Binding("c", "call_out", "Call out"),
        Binding("x", "hang_up", "Hang up"),
    ]
    DEFAULT_CSS = """
    Dashboard { padding: 0 1; }
    Dashboard #dash-daemon { height: auto; }
    Dashboard #dash-daemon.down { color: $warning; text-style: bold; }
    Dashboard #dash-accounts, Dashboard #dash-totals, Dashboard #dash-box { height: auto; }
    Dashboard DataTable { height: auto; max-height: 8; margin-top: 1; }
    Dashboard #dash-timeline { height: 1fr; color: $text-muted; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.status: dict[str, Any] = {}
        self.live: dict[str, Any] = {}
        self.up = False
        self.down_reason = "connecting to the daemon..."  # ControlError says "not running"
        self._dirty = True
        self._stop = threading.Event()
        self._cpu = CpuMeter()
        self._lock = threading.Lock()
        self.events_seen = 0
        self.today = ""
        self._sub: Any = None

    def compose(self) -> ComposeResult:
        yield Static("connecting to the daemon...", id="dash-daemon", markup=False)
        yield Static("", id="dash-accounts", markup=False)
        yield Static("", id="dash-totals", markup=False)
        yield Static("", id="dash-box", markup=False)
        table: DataTable[str | Text] = DataTable(cursor_type="row", id="live-calls")
        table.add_columns("Call", "Caller", "Time", "Assistant", "Path")
        yield table
        yield Static("", id="dash-timeline", markup=False)

    def on_mount(self) -> None:
        threading.Thread(target=self._follow, name="tui-dashboard", daemon=True).start()
        self.set_interval(0.25, self._tick)
        self.set_interval(2.0, self._slow_tick)
        self.set_interval(10.0, self._count_today)  # the store: not every tick
        self._count_today()
        self._slow_tick()

    def on_unmount(self) -> None:
        self._stop.set()
        if self._sub is not None:
            self._sub.close()  # wakes the reader thread

    # -- the control socket (its own thread) ------------------------------------------------

    def _follow(self) -> None:
        from appliance.daemon.control_client import ControlError, subscribe
        from appliance.daemon.live_state import LiveState

        while not self._stop.is_set():
            state: LiveState | None = None
            try:
                self._sub = subscribe(self.vapp.control_path)
                for msg in self._sub:
                    if self._stop.is_set():
                        return
                    with self._lock:
                        if state is None:
                            state = LiveState.from_snapshot(msg.get("state") or {})
                            self.status = msg
                        else:
                            state.apply(msg)
                            self.events_seen += 1
                        self.live = state.snapshot()
                        self.up, self._dirty = True, True
            except ControlError as err:
                with self._lock:
                    self.up, self.down_reason, self._dirty = False, err.message, True
            except Exception as err:  # a broken line must not kill the dashboard
                _LOGGER.exception("dashboard: control stream failed")
                with self._lock:
                    self.up, self.down_reason, self._dirty = False, str(err), True
            else:
                with self._lock:
                    self.up, self.down_reason = False, "the daemon closed the connection"
                    self._dirty = True
            self._stop.wait(RETRY_S)

    # -- outbound calls through the daemon (its models, call limit and records) ---------------

    def action_call_out(self) -> None:
        if not self.up:
            self.notify(f"No call: {self.down_reason}", severity="error", timeout=6)
            return
        names = [str(a.get("name")) for a in self.doc.get(("assistants",), []) or []]
        entry = str(self.doc.get(("team", "entry"), "") or "")
        self.app.push_screen(
            AskScreen(
                "Call out: the box dials, the assistant leads the call",
                {"uri": "sip:NUMBER@PBX", "assistant": f"assistant ({', '.join(names)})"},
                check_call,
                values={"assistant": entry},
            ),
            self._place_call,
        )

    def _place_call(self, values: dict[str, str] | None) -> None:
        if values:
            msg = {"cmd": "call", "uri": values["uri"], "assistant": values["assistant"]}
            threading.Thread(target=self._ask, args=(msg,), daemon=True).start()

    def action_hang_up(self) -> None:
        table = self.query_one("#live-calls", DataTable)
        if not table.row_count or table.cursor_row < 0:
            self.notify("No call selected", severity="warning", timeout=3)
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        msg = {"cmd": "hangup", "call": key}
        threading.Thread(target=self._ask, args=(msg,), daemon=True).start()

    def _ask(self, msg: dict[str, Any]) -> None:
        """One control request (its own thread); the answer as a notification."""
        from appliance.daemon.control_client import ControlError, request

        try:
            answer = request(self.vapp.control_path, msg, timeout=10.0)
        except ControlError as err:
            text, level = str(err), "error"
        else:
            if answer.get("ok"):
                done = "calling" if msg["cmd"] == "call" else "hung up"
                text = f"{answer.get('call')}: {done} {msg.get('uri', '')}".strip()
                level = "information"
            else:
                text, level = str(answer.get("error") or answer.get("message")), "error"
        self.app.call_from_thread(self.notify, text, severity=level, timeout=6)

    # -- drawing (event loop) ---------------------------------------------------------------

    def _tick(self) -> None:
        with self._lock:
            dirty, self._dirty = self._dirty, False
            live, status, up = dict(self.live), dict(self.status), self.up
        if dirty or (up and live.get("calls")):
            self._draw(live, status, up)

    def _count_today(self) -> None:
        try:
            n = CallLog(self.vapp.db_path).today()
        except StoreUnreadable as err:
            self.today = str(err) if self.vapp.db_path.exists() else "no calls recorded yet"
        else:
            self.today = (
                f"{n['calls']} calls · {n['handoffs']} handoffs · {n['transfers']} to a person"
                f" · messages: {n['messages']}"
            )

    def _slow_tick(self) -> None:
        used, total = memory()
        self.query_one("#dash-box", Static).update(
            f"Box: CPU {self._cpu.percent():.0f}% · load {load1():.2f} · "
            f"memory {used:.1f}/{total:.1f} GB\nToday (phone calls): {self.today}"
        )

    def _draw(self, live: dict[str, Any], status: dict[str, Any], up: bool) -> None:
        daemon = self.query_one("#dash-daemon", Static)
        daemon.set_class(not up, "down")
        if not up:
            daemon.update(
                f"○ {self.down_reason}\n"
                "  start it: systemctl start voicebox (or voicebox run); retrying every 2 s"
            )
            self.query_one("#dash-accounts", Static).update("")
            self.query_one("#dash-totals", Static).update("")
            self.query_one(DataTable).clear()
            self.query_one("#dash-timeline", Static).update("")
            return
        mode = "peer mode" if status.get("peer_mode") else "PBX"
        models = status.get("models") or {}
        rss = models.get("rss_mb")
        rss_text = f"{rss:.0f} MB" if isinstance(rss, (int, float)) else "?"
        daemon.update(
            f"● running · pid {status.get('pid', '?')} · {mode} · config generation "
            f"{live.get('config_generation', status.get('generation', 0))}\n"
            f"  {status.get('address', '')} · LLM {models.get('llm', '?')} · daemon RSS {rss_text}"
            + (f"\n  {line}" if (line := store_line(status.get("store"))) else "")
        )
        accounts = live.get("accounts") or {}
        lines = []
        for aor, a in accounts.items():
            retry = f", retry in {a['retry_in_s']:.0f} s" if a.get("retry_in_s") else ""
            lines.append(f"{aor}: {a.get('state', '?')} ({a.get('code', '')}{retry})")
        self.query_one("#dash-accounts", Static).update(
            "\n".join(lines) or "No PBX accounts: answering directly (peer mode)"
        )
        c = live.get("counters") or {}
        self.query_one("#dash-totals", Static).update(
            f"Since start: {c.get('calls', 0)} calls · {c.get('handoffs', 0)} handoffs · "
            f"{c.get('transfers', 0)} to a person · {c.get('rejected', 0)} rejected · "
            f"{c.get('overflow', 0)} overflow\nNow: {slots_line(live.get('slots') or {})}"
        )
        table = self.query_one(DataTable)
        calls = live.get("calls") or {}
        row = table.cursor_row
        table.clear()
        for key, call in calls.items():
            legs = int(call.get("legs", 1) or 0)
            table.add_row(
                Text(f"{key} ({legs} legs)" if legs > 1 else str(key)),
                Text(str(call.get("caller", ""))[:22]),
                _duration(call.get("started")),
                Text(str(call.get("assistant", ""))),
                Text(_path(call)),
                key=str(key),
            )
        if calls:
            table.move_cursor(row=min(row, len(calls) - 1))
            key = list(calls)[min(row, len(calls) - 1)]
            steps = calls[key].get("timeline", []) or []
            self.query_one("#dash-timeline", Static).update(
                "\n".join(
                    f"{time.strftime('%H:%M:%S', time.localtime(float(t.get('wall', 0))))}  "
                    f"{t.get('text', '')}"
                    for t in steps[-8:]
                )
            )
        else:
            self.query_one("#dash-timeline", Static).update("No calls right now.")
