"""Outbound calls from the running box: `{"cmd": "call"}` on the control socket (the CLI's
`voicebox call URI --assistant NAME` and the TUI's dial screen use it) and the reminder calls
(appliance/tools/reminders.py). They share the box's models and its call limit with the calls
coming in, and are recorded like them."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from appliance.daemon.call_session import CallSession
from appliance.errors import VoiceboxError
from appliance.sip.switchboard import CallMeta
from appliance.tools.calendar_client import Booked
from appliance.tools.reminders import CallResult, Place

if TYPE_CHECKING:
    from appliance.daemon.service import Daemon

_LOGGER = logging.getLogger(__name__)
SIP_URI = re.compile(r"^sips?:[^\s<>\"']+$")


class CallRefused(VoiceboxError):
    """An outbound call the box does not place (a bad address, no such assistant, full)."""

    code = "call"


def place_call(
    daemon: Daemon,
    uri: str,
    assistant: str,
    *,
    prepare: Callable[[CallSession], None] | None = None,
    on_end: Callable[[CallSession], None] | None = None,
) -> str:
    """Dial `uri` with `assistant` leading the call; its key. CallRefused when the address or
    the assistant is wrong, or sip.max_calls calls are in progress already."""
    uri = uri.strip()
    if not SIP_URI.match(uri):
        raise CallRefused(f"not a SIP address: {uri!r} (write e.g. sip:203@192.168.1.10)")
    cfg = daemon.cfg
    if assistant not in cfg.names:
        raise CallRefused(f"unknown assistant '{assistant}' (known: {', '.join(cfg.names)})")
    try:
        busy = daemon.ep.run(daemon.board.calls_in_progress, timeout=5.0)
    except TimeoutError as err:
        raise CallRefused("the SIP thread does not answer; try again") from err
    if busy >= cfg.sip.max_calls:
        raise CallRefused(
            f"call limit reached: {busy} of {cfg.sip.max_calls} calls in progress; try later"
        )
    key = daemon.board.new_key()
    session = daemon._new_session(CallMeta(key, assistant, uri, "", "out"))
    try:
        if prepare is not None:
            prepare(session)
    except Exception:
        session.loop.hangup("not placed")  # its conversation ends unstarted; the session goes
        raise
    if on_end is not None:
        session.on_end.append(lambda: on_end(session))
    daemon.board.dial(uri, assistant, session, key)
    _LOGGER.info("call %s: dialling %s for %s", key, uri, assistant)
    return key


def control_call(daemon: Daemon, msg: dict[str, Any]) -> dict[str, Any]:
    """The control socket's `call` command: {"cmd": "call", "uri": ..., "assistant": ...}
    (assistant: the team's entry when left out) -> {"type": "call", "ok": ..., "call": key}."""
    uri, assistant = msg.get("uri"), msg.get("assistant") or daemon.cfg.team.entry
    if not isinstance(uri, str) or not isinstance(assistant, str):
        return {"type": "call", "ok": False, "error": "give uri (and assistant) as strings"}
    try:
        key = place_call(daemon, uri, assistant)
    except CallRefused as err:
        return {"type": "call", "ok": False, "error": str(err)}
    return {"type": "call", "ok": True, "call": key, "uri": uri, "assistant": assistant}


def control_hangup(daemon: Daemon, msg: dict[str, Any]) -> dict[str, Any]:
    """`{"cmd": "hangup", "call": KEY}`: the box ends that call (the caller hears nothing more)."""
    key = msg.get("call")
    session = daemon.sessions.get(key) if isinstance(key, str) else None
    if session is None:
        return {"type": "hangup", "ok": False, "error": f"no call {key!r} in progress"}
    session.loop.hangup("hung up from the control socket")
    return {"type": "hangup", "ok": True, "call": key}


def result_of(session: CallSession) -> CallResult:
    loop = session.loop
    desk = loop.conv.booking
    return CallResult(
        conversation_id=loop.conv.id,
        answered=loop.frames_in > 0,
        turns=loop.conv.turn,
        results=list(desk.results) if desk is not None else [],
        reason=loop.end_reason,
    )


def reminder_placer(daemon: Daemon) -> Place:
    """How the reminder calls are placed: through this daemon, opening with the reminder."""

    def place(uri: str, assistant: str, b: Booked, done: Callable[[CallResult], None]) -> str:
        def prepare(session: CallSession) -> None:
            try:
                session.loop.conv.remind(b)
            except ValueError as err:
                raise CallRefused(str(err)) from err

        return place_call(
            daemon, uri, assistant, prepare=prepare, on_end=lambda s: done(result_of(s))
        )

    return place
