"""F1 Dash: `c` calls out through the daemon and `x` hangs up the selected call. A real control
socket whose call and hangup commands record what the dashboard asked; the answer shows as a
notification."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static

from appliance.daemon.control_server import ControlServer
from appliance.daemon.live_state import LiveState
from tui.app import VoiceboxApp
from tui.dashboard import Dashboard, check_call

Script = Callable[[VoiceboxApp, Pilot[None]], Any]


def test_the_dial_form_wants_a_sip_address() -> None:
    assert check_call({"uri": "203"}) is not None
    assert check_call({"uri": "sip:203 @pbx"}) is not None
    assert check_call({"uri": "sip:203@192.168.1.10"}) is None


def test_c_calls_out_through_the_daemon_and_x_hangs_up(
    tmp_path: Path,
    make_app: Callable[..., VoiceboxApp],
    drive: Callable[[VoiceboxApp, Script], None],
) -> None:
    live = LiveState()
    asked: list[dict[str, Any]] = []
    sock = tmp_path / "c.sock"

    def call(msg: dict[str, Any]) -> dict[str, Any]:
        asked.append(msg)
        if msg["assistant"] == "billing":
            return {"type": "call", "ok": False, "error": "unknown assistant 'billing'"}
        return {"type": "call", "ok": True, "call": "c7", "uri": msg["uri"]}

    def hangup(msg: dict[str, Any]) -> dict[str, Any]:
        asked.append(msg)
        return {"type": "hangup", "ok": True, "call": msg["call"]}

    server = ControlServer(
        sock, lambda: {"type": "status", "pid": 1, "state": live.snapshot(), "models": {}},
        lambda: {"type": "reload", "ok": False}, fold=live.apply,
        commands={"call": call, "hangup": hangup},
    )  # fmt: skip
    server.start()

    async def wait(pilot: Pilot[None], ok: Callable[[], bool]) -> None:
        for _ in range(200):
            if ok():
                return
            await pilot.pause(0.05)
        raise AssertionError(f"not reached; asked: {asked}")

    def notes(app: VoiceboxApp) -> str:
        return " | ".join(str(n.message) for n in app._notifications)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        dash = app.query_one(Dashboard)
        await wait(pilot, lambda: dash.up)
        dash.query_one("#live-calls").focus()
        await pilot.press("c")
        await pilot.pause()
        assert app.screen.query_one("#ask-assistant", Input).value == "frontdesk"  # the entry
        app.screen.query_one("#ask-uri", Input).value = "203"
        await pilot.press("enter")
        await pilot.pause()
        assert "a SIP address" in str(app.screen.query_one("#ask-error", Static).render())
        app.screen.query_one("#ask-uri", Input).value = "sip:203@192.168.1.10"
        app.screen.query_one("#ask-assistant", Input).value = "scheduling"
        await pilot.press("enter")
        await wait(pilot, lambda: "c7: calling sip:203@192.168.1.10" in notes(app))
        assert asked == [{"cmd": "call", "uri": "sip:203@192.168.1.10",
                          "assistant": "scheduling"}]  # fmt: skip
        await pilot.press("c")
        await pilot.pause()
        app.screen.query_one("#ask-uri", Input).value = "sip:204@pbx"
        app.screen.query_one("#ask-assistant", Input).value = "billing"
        await pilot.press("enter")
        await wait(pilot, lambda: "unknown assistant 'billing'" in notes(app))
        for ev in ({"type": "call_dialing", "call": "c7", "uri": "sip:203@192.168.1.10",
                    "assistant": "scheduling"}, {"type": "call_connected", "call": "c7"}):
            server.publish({**ev, "wall": time.time()})  # fmt: skip
        await wait(pilot, lambda: bool(dash.live.get("calls")))
        await pilot.pause(0.4)  # drawn
        dash.query_one("#live-calls").focus()
        await pilot.press("x")
        await wait(pilot, lambda: asked[-1] == {"cmd": "hangup", "call": "c7"})

    try:
        drive(make_app(control=sock), script)
    finally:
        server.stop()
