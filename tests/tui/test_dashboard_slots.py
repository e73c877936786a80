"""The dashboard counts call slots honestly: a warm transfer the box bridges shows as one call with
a second (transfer) leg until a leg ends. A real control socket serves a live state folded from
the daemon's events; the Dashboard follows it as it follows a running box."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from appliance.daemon.control_server import ControlServer
from appliance.daemon.live_state import LiveState
from tui.app import VoiceboxApp
from tui.dashboard import Dashboard

Script = Callable[[VoiceboxApp, Pilot[None]], Any]
EVENTS = [
    {"type": "ready", "address": "sip:frontdesk@127.0.0.1:5060", "max_calls": 4},
    {"type": "call_incoming", "call": "c1", "caller": "sip:phone@127.0.0.1", "assistant": "fd"},
    {"type": "call_connected", "call": "c1"},
    {"type": "transfer_start", "call": "c1", "human": "reception", "mode": "warm"},
    {"type": "transfer_done", "call": "c1", "human": "reception", "mode": "bridge"},
]


def test_a_bridged_transfer_shows_two_legs_until_the_call_ends(
    tmp_path: Path,
    make_app: Callable[..., VoiceboxApp],
    drive: Callable[[VoiceboxApp, Script], None],
) -> None:
    live = LiveState()
    sock = tmp_path / "c.sock"

    def status() -> dict[str, Any]:
        return {"type": "status", "pid": 1, "state": live.snapshot(), "models": {}}

    server = ControlServer(sock, status, lambda: {"type": "reload", "ok": False}, fold=live.apply)
    server.start()
    for ev in EVENTS[:3]:
        server.publish({**ev, "wall": time.time()})

    async def until(pilot: Pilot[None], text: str, where: str = "#dash-totals") -> str:
        shown = ""
        for _ in range(200):
            shown = str(pilot.app.query_one(where, Static).render())
            if text in shown:
                return shown
            await pilot.pause(0.05)
        raise AssertionError(f"{text!r} not in {shown!r}")

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await until(pilot, "Now: calls 1, slots 1/4")  # from the status snapshot
        for ev in EVENTS[3:]:
            server.publish({**ev, "wall": time.time()})
        await until(pilot, "Now: calls 1 (+1 transfer leg), slots 2/4")
        table = app.query_one("#live-calls", DataTable)
        assert str(table.get_row_at(0)[0]) == "c1 (2 legs)"
        server.publish({"type": "call_ended", "call": "c1", "leg": "human", "code": 200})
        await until(pilot, "Now: calls 1, slots 1/4")
        server.publish({"type": "call_ended", "call": "c1", "code": 200})
        await until(pilot, "Now: calls 0, slots 0/4")
        assert app.query_one(Dashboard).up

    try:
        drive(make_app(control=sock), script)
    finally:
        server.stop()
