"""The box's side of the phone system: accounts and their registration, who may call, how many
calls at once, each call's media bridged to a session, transfers to people, outbound calls.

Everything here runs on the SIP thread. Sessions (the daemon's conversation loops) are created and
told about calls on a worker pool, so a PJSIP callback never waits for them.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from appliance.audio.pcm import Samples
from appliance.config import Config
from appliance.config_sip import SipAccount
from appliance.sip.calls import SipAccountObj, SipCall, account_config, header, op, request_user
from appliance.sip.endpoint import SipEndpoint
from appliance.sip.guard import CallerGuard
from appliance.sip.media import LinePort
from appliance.sip.registration import Registration

_LOGGER = logging.getLogger(__name__)
Report = Callable[[dict[str, Any]], None]
LIVE = ("null", "calling", "incoming", "early", "connecting", "confirmed")


class Session(Protocol):
    """The daemon's side of one call."""

    def on_frame(self, frame: Samples) -> None: ...
    def next_frame(self) -> Samples: ...
    def on_connected(self) -> None: ...
    def on_dtmf(self, digit: str) -> None: ...
    def on_ended(self, reason: str) -> None: ...
    def on_transfer(self, ok: bool, human: str, detail: str) -> None: ...


@dataclass
class CallMeta:
    key: str
    assistant: str
    caller: str
    source: str
    direction: str  # in | out


@dataclass
class _Box:
    """One conversation's legs: the caller's, and a consultation leg during a warm transfer."""

    meta: CallMeta
    call: SipCall
    session: Session | None = None
    port: LinePort | None = None
    consult: SipCall | None = None
    consult_port: LinePort | None = None
    human: str = ""
    bridged: bool = False
    stats: dict[str, Any] = field(default_factory=dict)


class _Player:
    """Frames of a fixed clip for a consultation leg; calls `done` once when they run out."""

    def __init__(self, frames: list[Samples], silence: Samples, done: Callable[[], None]):
        self.frames, self.silence, self.done, self.i = frames, silence, done, 0

    def next(self) -> Samples:
        self.i += 1
        if self.i <= len(self.frames):
            return self.frames[self.i - 1]
        if self.i == len(self.frames) + 1:
            self.done()
        return self.silence

    def heard(self, frame: Samples) -> None:
        pass


class Switchboard:
    def __init__(
        self,
        ep: SipEndpoint,
        cfg: Config,
        new_session: Callable[[CallMeta], Session],
        report: Report,
    ) -> None:
        self.ep = ep
        self.cfg = cfg
        self.sip = cfg.sip
        self.new_session = new_session
        self.report = report
        self.guard = CallerGuard(self.sip)
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="session")
        self.accounts: list[SipAccountObj] = []
        self.registrations: dict[int, Registration] = {}
        self.boxes: dict[str, _Box] = {}
        self._count = 0
        self.local: SipAccountObj | None = None

    # -- start / stop (SIP thread) ----------------------------------------------------------

    def start(self) -> None:
        host, port = self.ep.address()
        self.guard.trust_local([x.host for x in self.ep.listening])
        self.local = SipAccountObj(self._on_account)
        self.local.create(
            account_config(None, local_uri=f"sip:voicebox@{host}:{port}", transport_id=-1)
        )
        for settings in self.sip.accounts:
            acc = SipAccountObj(self._on_account, settings)
            tid = self.ep.transport_id(settings.transport)
            acc.create(account_config(settings, local_uri="", transport_id=tid))
            self.accounts.append(acc)
            self.registrations[id(acc)] = Registration(
                settings, self.sip, self.ep, acc, self.report
            )

    def stop(self) -> None:
        for box in list(self.boxes.values()):
            for leg in (box.call, box.consult):
                if leg is not None:
                    leg.disconnect_port()
                    leg.end()
        for reg in self.registrations.values():
            reg.stop()
        self.boxes.clear()
        self.accounts.clear()
        self.local = None

    # -- accounts ---------------------------------------------------------------------------

    def _on_account(self, kind: str, data: dict[str, Any]) -> None:
        acc: SipAccountObj = data["account"]
        if kind == "reg":
            reg = self.registrations.get(id(acc))
            if reg is not None:
                reg.on_result(data["code"], data["reason"], data["expires"])
        elif kind == "incoming":
            self._incoming(acc, data)

    def _live_legs(self) -> int:
        return sum(
            (b.call.state in LIVE) + (b.consult is not None and b.consult.state in LIVE)
            for b in self.boxes.values()
        )

    def _incoming(self, acc: SipAccountObj, data: dict[str, Any]) -> None:
        call = SipCall(acc, data["call_id"], handler=self._on_call)
        msg, source = data["msg"], data["source"]
        caller = re.sub(r";tag=[^;>]*", "", header(msg, "From"))
        if not self.guard.allowed(source):
            self.report(
                {
                    "type": "call_rejected",
                    "source": source,
                    "caller": caller,
                    "code": 403,
                    "reason": "source not allowed",
                }
            )
            self._keep_until_gone(call, 403)
            return
        if self._live_legs() >= self.sip.max_calls:
            self._overflow(call, source, caller)
            return
        self._count += 1
        key = f"c{self._count}"
        meta = CallMeta(key, self._entry_for(acc, msg), caller, source, "in")
        box = _Box(meta, call)
        call.tag = key
        self.boxes[key] = box
        self.report(
            {
                "type": "call_incoming",
                "call": key,
                "caller": caller,
                "source": source,
                "assistant": meta.assistant,
            }
        )
        call.answer(op(180))
        self.pool.submit(self._open_session, box)

    def _entry_for(self, acc: SipAccountObj, msg: str) -> str:
        if acc.settings is not None and acc.settings.entry:
            return acc.settings.entry
        user = request_user(msg)
        return user if self.sip.peer_mode and user in self.cfg.names else self.cfg.team.entry

    def _overflow(self, call: SipCall, source: str, caller: str) -> None:
        target = self.human_uri(self.sip.overflow_to) if self.sip.overflow == "transfer" else ""
        event = {"type": "call_overflow", "caller": caller, "source": source}
        if not target:
            self.report({**event, "action": "busy", "code": 486})
            self._keep_until_gone(call, 486)
            return
        # answered and referred at once (pjsua puts its own Contact in a 3xx, so a redirect
        # cannot point elsewhere); the caller's phone then calls the person
        self.report({**event, "action": "transfer", "to": target})
        self.ep.bury(call)

        def on_overflow(kind: str, data: dict[str, Any]) -> None:
            if kind == "state" and data["state"] == "confirmed":
                call.xfer(target, op())
            elif kind == "transfer_status" and data["final"]:
                call.end()

        call.handler = on_overflow
        call.answer(op(200))

    def _keep_until_gone(self, call: SipCall, code: int) -> None:
        self.ep.bury(call)
        call.handler = lambda kind, data: None
        call.answer(op(code))

    def _open_session(self, box: _Box) -> None:
        try:
            session = self.new_session(box.meta)
        except Exception as err:
            _LOGGER.exception("call %s: no session", box.meta.key)
            self.report({"type": "error", "call": box.meta.key, "message": f"no session: {err}"})
            self.ep.call_soon(lambda: box.call.end(503))
            return

        def ready() -> None:
            box.session = session
            if box.call.state in LIVE:
                box.call.answer(op(200))
            else:
                self.pool.submit(session.on_ended, "caller hung up before the answer")

        self.ep.call_soon(ready)

    # -- outbound ---------------------------------------------------------------------------

    def dial(self, uri: str, assistant: str, session: Session) -> str:
        """Place a call led by `assistant` (any thread); returns its key."""
        self._count += 1
        key = f"c{self._count}"

        def go() -> None:
            acc = self.accounts[0] if self.accounts else self.local
            call = SipCall(acc, handler=self._on_call)
            call.tag = key
            box = _Box(CallMeta(key, assistant, uri, "", "out"), call, session=session)
            self.boxes[key] = box
            self.report({"type": "call_dialing", "call": key, "uri": uri, "assistant": assistant})
            try:
                call.makeCall(uri, op())
            except Exception as err:
                self.report({"type": "error", "call": key, "message": f"cannot call {uri}: {err}"})
                del self.boxes[key]
                self.pool.submit(session.on_ended, f"call failed: {err}")

        self.ep.call_soon(go)
        return key

    # -- call events ------------------------------------------------------------------------

    def _box_of(self, call: SipCall) -> _Box | None:
        box = self.boxes.get(call.tag)
        if box is not None and (box.call is call or box.consult is call):
            return box
        return None

    def _on_call(self, kind: str, data: dict[str, Any]) -> None:
        call: SipCall = data["call"]
        box = self._box_of(call)
        if box is None:
            return
        if call is box.consult:
            self._on_consult(box, kind, data)
            return
        if kind == "media" and data["active"] and box.port is None and box.session is not None:
            box.port = LinePort(
                f"{box.meta.key}", self.ep.clock_rate, box.session.on_frame, box.session.next_frame
            )
            call.connect(box.port)
        elif kind == "state":
            self._on_state(box, data)
        elif kind == "dtmf" and box.session is not None and not box.bridged:
            self.report(
                {
                    "type": "dtmf",
                    "call": box.meta.key,
                    "digit": data["digit"],
                    "method": data["method"],
                }
            )
            self.pool.submit(box.session.on_dtmf, data["digit"])
        elif kind == "transfer_status":
            self._on_blind_status(box, data)

    def _on_state(self, box: _Box, data: dict[str, Any]) -> None:
        state, key = data["state"], box.meta.key
        if state == "confirmed" and box.session is not None:
            self.report({"type": "call_connected", "call": key, "remote": data["remote"]})
            self.ep.call_later(1.0, lambda: self._sample(box))
            self.pool.submit(box.session.on_connected)
        elif state == "disconnected":
            stats = {**box.stats, **({"media": box.port.stats()} if box.port else {})}
            self.report(
                {
                    "type": "call_ended",
                    "call": key,
                    "code": data["code"],
                    "reason": data["reason"],
                    "duration_s": round(data["duration_s"], 2),
                    "stats": stats,
                }
            )
            box.call.disconnect_port()
            if box.consult is not None and box.consult.state in LIVE:
                box.consult.end()  # the caller left: the person's phone stops ringing too
            self._retire(box)
            if box.session is not None and not box.bridged:
                self.pool.submit(box.session.on_ended, "caller hung up")

    def _sample(self, box: _Box) -> None:
        if box.call.state == "confirmed":
            box.stats["rtp"] = box.call.rtp_stats() or box.stats.get("rtp", {})
            self.ep.call_later(1.0, lambda: self._sample(box))

    def _retire(self, box: _Box) -> None:
        if all(leg is None or leg.state not in LIVE for leg in (box.call, box.consult)):
            self.boxes.pop(box.meta.key, None)
            for leg in (box.call, box.consult):
                if leg is not None:
                    self.ep.bury(leg)
            # ports go now, on this thread (a pjsua2 object deleted elsewhere aborts)
            box.port = box.consult_port = None

    # -- control from sessions (any thread) -------------------------------------------------

    def hangup(self, key: str) -> None:
        def go() -> None:
            box = self.boxes.get(key)
            if box is not None and not box.bridged:
                box.call.end()

        self.ep.call_soon(go)

    def human_uri(self, name: str) -> str:
        """The SIP URI of a configured human extension ("" when there is no way to reach it)."""
        humans = self.cfg.team.human_extensions
        ext = next((h for h in humans if h.name == name), humans[0] if humans else None)
        if ext is None:
            return ""
        if "@" in ext.extension:
            return ext.extension if ext.extension.startswith("sip") else f"sip:{ext.extension}"
        acc: SipAccount | None = self.sip.accounts[0] if self.sip.accounts else None
        return f"sip:{ext.extension}@{acc.registrar}" if acc else ""

    def transfer(self, key: str, human: str, summary: str, clip: list[Samples]) -> None:
        """Hand the caller to a configured person: blind (REFER) or warm (call, brief, connect).
        `clip` is what the person hears before the caller is connected (warm only)."""

        def go() -> None:
            box = self.boxes.get(key)
            if box is None or box.session is None:
                return
            uri = self.human_uri(human)
            if not uri:
                self._transfer_failed(box, human, "no way to reach that extension")
                return
            box.human = human
            self.report(
                {
                    "type": "transfer_start",
                    "call": key,
                    "human": human,
                    "uri": uri,
                    "mode": self.sip.transfer,
                }
            )
            if self.sip.transfer == "blind":
                box.call.xfer(uri, op())
                return
            self._warm(box, uri, summary, clip)

        self.ep.call_soon(go)

    def _transfer_failed(self, box: _Box, human: str, why: str) -> None:
        self.report(
            {"type": "transfer_failed", "call": box.meta.key, "human": human, "reason": why}
        )
        if box.session is not None:
            self.pool.submit(box.session.on_transfer, False, human, why)

    def _on_blind_status(self, box: _Box, data: dict[str, Any]) -> None:
        """REFER progress: 202 is only "accepted"; the final NOTIFY tells how the new call went.
        The subscription is ended before our leg is: a NOTIFY arriving for a finished call would
        reach whatever call reuses its pjsua id."""
        code = data["code"]
        if code >= 300:
            data["prm"].cont = False
            self._transfer_failed(box, box.human, f"{code} {data['reason']}")
        elif data["final"] and code >= 200:
            data["prm"].cont = False
            self.report(
                {"type": "transfer_done", "call": box.meta.key, "human": box.human, "mode": "blind"}
            )
            box.bridged = True  # the caller is the PBX's now
            if box.session is not None:
                self.pool.submit(box.session.on_transfer, True, box.human, "blind")
            self.ep.call_later(0.1, box.call.end)

    # -- warm transfer ----------------------------------------------------------------------

    def _warm(self, box: _Box, uri: str, summary: str, clip: list[Samples]) -> None:
        headers = {self.sip.summary_header: summary[:200]} if self.sip.summary_header else {}
        consult = SipCall(box.call.acc, handler=self._on_call)
        consult.tag = box.meta.key
        box.consult = consult
        box.stats["consult_clip"] = clip
        try:
            consult.makeCall(uri, op(headers=headers))
        except Exception as err:
            box.consult = None
            self._transfer_failed(box, box.human, f"cannot call {uri}: {err}")
            return
        started = time.monotonic()
        self.ep.call_later(self.sip.warm_timeout_s, lambda: self._warm_timeout(box, started))

    def _warm_timeout(self, box: _Box, started: float) -> None:
        c = box.consult
        if c is not None and c.state in ("null", "calling", "early", "connecting"):
            box.consult = None  # first: its "disconnected" is not a failure of its own
            self.ep.bury(c)
            c.end()
            self._transfer_failed(
                box, box.human, f"no answer in {time.monotonic() - started:.0f} s"
            )

    def _on_consult(self, box: _Box, kind: str, data: dict[str, Any]) -> None:
        consult = data["call"]
        if kind == "media" and data["active"] and box.consult_port is None:
            clip = box.stats.pop("consult_clip", [])
            silence = np.zeros(self.ep.clock_rate // 50, dtype=np.float32)
            player = _Player(clip, silence, lambda: self.ep.call_soon(lambda: self._connect(box)))
            box.consult_port = LinePort(
                f"{box.meta.key}x", self.ep.clock_rate, player.heard, player.next
            )
            consult.connect(box.consult_port)
        elif kind == "state" and data["state"] == "disconnected":
            if box.bridged:  # the person hung up: so does the caller's leg
                self.report(
                    {
                        "type": "call_ended",
                        "call": box.meta.key,
                        "leg": "human",
                        "code": data["code"],
                        "reason": data["reason"],
                    }
                )
                box.call.end()
            elif box.consult is consult:
                box.consult = None
                box.consult_port = None
                self._transfer_failed(box, box.human, f"{data['code']} {data['reason']}")
            self._retire(box)

    def _connect(self, box: _Box) -> None:
        if box.consult is None or box.consult.state != "confirmed" or box.call.state != "confirmed":
            return
        box.call.bridge(box.consult)
        box.bridged = True
        self.report(
            {"type": "transfer_done", "call": box.meta.key, "human": box.human, "mode": "warm"}
        )
        if box.session is not None:
            self.pool.submit(box.session.on_transfer, True, box.human, "warm")
