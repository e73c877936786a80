"""The box's side of the phone system: accounts and their registration, who may call, how many
calls at once, each call's media bridged to a session, outbound calls (transfers to people are in
transfers.py).

Everything here runs on the SIP thread. Sessions (the daemon's conversation loops) are created and
told about calls on a worker pool, so a PJSIP callback never waits for them.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from appliance.config import Config
from appliance.sip.calls import SipAccountObj, SipCall, account_config, header, op, request_user
from appliance.sip.endpoint import SipEndpoint
from appliance.sip.guard import CallerGuard
from appliance.sip.legs import LIVE, Box, CallMeta, Report, Session
from appliance.sip.media import LinePort
from appliance.sip.registration import Registration
from appliance.sip.transfers import TransferDesk, offers_replaces

_LOGGER = logging.getLogger(__name__)
__all__ = ["CallMeta", "Session", "Switchboard"]


REJECT_HOLD_S = 0.25  # a refused or busy call's answer waits this long (see _keep_until_gone)


def _turn_away(call: SipCall, code: int) -> None:
    if call.state != "disconnected":  # the caller may have given up meanwhile
        try:
            call.answer(op(code))
        except Exception:
            _LOGGER.debug("call gone before its %d", code, exc_info=True)


class Switchboard(TransferDesk):
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
        self.boxes: dict[str, Box] = {}
        self._keys = itertools.count(1)  # call keys c1, c2, ... (dial() runs on any thread)
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

    def reconfigure(self, cfg: Config, guard: CallerGuard) -> None:
        """A reloaded config for the calls to come (SIP thread): call limit, overflow, allowlist
        (`guard`, built off this thread: it may resolve names), people, transfer mode, and the
        registrations' retry settings. Accounts and transports need a restart."""
        self.cfg, self.sip, self.guard = cfg, cfg.sip, guard
        for reg in self.registrations.values():
            reg.sip = cfg.sip

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
        key = f"c{next(self._keys)}"
        meta = CallMeta(key, self._entry_for(acc, msg), caller, source, "in")
        box = Box(meta, call, replaces=offers_replaces(msg))
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
            if kind == "transfer_refused":
                self.report({**event, "type": "transfer_refused", "to": data["dst"], "code": 603})
            elif kind == "state" and data["state"] == "confirmed":
                call.xfer(target, op())
            elif kind == "transfer_status" and data["final"]:
                call.end()

        call.handler = on_overflow
        call.answer(op(200))

    def _keep_until_gone(self, call: SipCall, code: int) -> None:
        """Turn a call away after REJECT_HOLD_S. pjsua has already opened the call's two media
        sockets, and pjlib's ioqueue (64 handles) reuses a closed one's handle only 0.5 s
        later: answered at once, a flood of INVITEs (even ones the guard refuses) ran it out and
        pjlib aborted the process. Held, the calls fill pjsua's 4 call slots, and the INVITEs
        beyond get 486 from pjsua before any socket is opened."""
        self.ep.bury(call)
        call.handler = lambda kind, data: None
        self.ep.call_later(REJECT_HOLD_S, lambda: _turn_away(call, code))

    def _open_session(self, box: Box) -> None:
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
        key = f"c{next(self._keys)}"

        def go() -> None:
            acc = self.accounts[0] if self.accounts else self.local
            call = SipCall(acc, handler=self._on_call)
            call.tag = key
            box = Box(CallMeta(key, assistant, uri, "", "out"), call, session=session)
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

    def _box_of(self, call: SipCall) -> Box | None:
        box = self.boxes.get(call.tag)
        if box is not None and (box.call is call or box.consult is call):
            return box
        return None

    def _on_call(self, kind: str, data: dict[str, Any]) -> None:
        call: SipCall = data["call"]
        box = self._box_of(call)
        if kind == "transfer_refused":
            self._transfer_refused(call, box, data["dst"])
            return
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

    def _transfer_refused(self, call: SipCall, box: Box | None, dst: str) -> None:
        """A REFER the call leg declined (SipCall does): a security event, the call goes on."""
        self.report(
            {
                "type": "transfer_refused",
                "call": box.meta.key if box is not None else call.tag,
                "to": dst,
                "source": box.meta.source if box is not None else "",
                "caller": box.meta.caller if box is not None else "",
                "code": 603,
            }
        )

    def _on_state(self, box: Box, data: dict[str, Any]) -> None:
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

    def _sample(self, box: Box) -> None:
        if box.call.state == "confirmed":
            box.stats["rtp"] = box.call.rtp_stats() or box.stats.get("rtp", {})
            self.ep.call_later(1.0, lambda: self._sample(box))

    def _retire(self, box: Box) -> None:
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
