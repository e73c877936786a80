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
from appliance.sip.calls import (
    DECLINE,
    SipAccountObj,
    SipCall,
    account_config,
    header,
    op,
    request_user,
)
from appliance.sip.endpoint import SipEndpoint
from appliance.sip.events import (
    CallConnected,
    CallDialing,
    CallEnded,
    CallFailed,
    CallIncoming,
    CallOverflow,
    CallRejected,
    Dtmf,
    TransferRefused,
)
from appliance.sip.guard import CallerGuard
from appliance.sip.legs import LIVE, CallHandler, CallLegs, CallMeta, Report
from appliance.sip.media import LinePort
from appliance.sip.registration import Registration
from appliance.sip.transfers import TransferDesk, offers_replaces

_LOGGER = logging.getLogger(__name__)
__all__ = ["CallHandler", "CallMeta", "Switchboard"]


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
        new_session: Callable[[CallMeta], CallHandler],
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
        self.legs_by_key: dict[str, CallLegs] = {}
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
        for legs in list(self.legs_by_key.values()):
            for leg in (legs.call, legs.consult):
                if leg is not None:
                    leg.disconnect_port()
                    leg.end()
        for reg in self.registrations.values():
            reg.stop()
        self.legs_by_key.clear()
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
            for b in self.legs_by_key.values()
        )

    def _incoming(self, acc: SipAccountObj, data: dict[str, Any]) -> None:
        call = SipCall(acc, data["call_id"], handler=self._on_call)
        msg, source = data["msg"], data["source"]
        caller = re.sub(r";tag=[^;>]*", "", header(msg, "From"))
        if not self.guard.allowed(source):
            self.report(
                CallRejected(source=source, caller=caller, code=403, reason="source not allowed")
            )
            self._keep_until_gone(call, 403)
            return
        if self._live_legs() >= self.sip.max_calls:
            self._overflow(call, source, caller)
            return
        key = self.new_key()
        meta = CallMeta(key, self._entry_for(acc, msg), caller, source, "in")
        legs = CallLegs(meta, call, replaces=offers_replaces(msg))
        call.tag = key
        self.legs_by_key[key] = legs
        self.report(CallIncoming(call=key, caller=caller, source=source, assistant=meta.assistant))
        call.answer(op(180))
        self.pool.submit(self._open_session, legs)

    def _entry_for(self, acc: SipAccountObj, msg: str) -> str:
        if acc.settings is not None and acc.settings.entry:
            return acc.settings.entry
        user = request_user(msg)
        return user if self.sip.peer_mode and user in self.cfg.names else self.cfg.team.entry

    def _overflow(self, call: SipCall, source: str, caller: str) -> None:
        target = self.human_uri(self.sip.overflow_to) if self.sip.overflow == "transfer" else ""
        if not target:
            self.report(CallOverflow(caller=caller, source=source, action="busy", code=486))
            self._keep_until_gone(call, 486)
            return
        # answered and referred at once (pjsua puts its own Contact in a 3xx, so a redirect
        # cannot point elsewhere); the caller's phone then calls the person
        self.report(CallOverflow(caller=caller, source=source, action="transfer", to=target))
        self.ep.bury(call)

        def on_overflow(kind: str, data: dict[str, Any]) -> None:
            if kind == "transfer_refused":
                self.report(
                    TransferRefused(to=data["dst"], source=source, caller=caller, code=DECLINE)
                )
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

    def _open_session(self, legs: CallLegs) -> None:
        try:
            session = self.new_session(legs.meta)
        except Exception as err:
            _LOGGER.exception("call %s: no session", legs.meta.key)
            self.report(CallFailed(call=legs.meta.key, message=f"no session: {err}"))
            self.ep.call_soon(lambda: legs.call.end(503))
            return

        def ready() -> None:
            legs.session = session
            if legs.call.state in LIVE:
                legs.call.answer(op(200))
            else:
                self.pool.submit(session.on_ended, "caller hung up before the answer")

        self.ep.call_soon(ready)

    # -- outbound ---------------------------------------------------------------------------

    def new_key(self) -> str:
        """The key of a call to come (any thread)."""
        return f"c{next(self._keys)}"

    def calls_in_progress(self) -> int:
        """Legs that hold a call slot now (SIP thread: Daemon asks through ep.run)."""
        return self._live_legs()

    def dial(self, uri: str, assistant: str, session: CallHandler, key: str = "") -> str:
        """Place a call led by `assistant` (any thread), within sip.max_calls (over it the call
        is not placed: the session hears "call limit reached"); returns its key."""
        key = key or self.new_key()

        def go() -> None:
            if self._live_legs() >= self.sip.max_calls:
                self.report(CallFailed(call=key, message=f"cannot call {uri}: call limit reached"))
                self.pool.submit(session.on_ended, "call failed: call limit reached")
                return
            acc = self.accounts[0] if self.accounts else self.local
            call = SipCall(acc, handler=self._on_call)
            call.tag = key
            legs = CallLegs(CallMeta(key, assistant, uri, "", "out"), call, session=session)
            self.legs_by_key[key] = legs
            self.report(CallDialing(call=key, uri=uri, assistant=assistant))
            try:
                call.makeCall(uri, op())
            except Exception as err:
                self.report(CallFailed(call=key, message=f"cannot call {uri}: {err}"))
                del self.legs_by_key[key]
                self.pool.submit(session.on_ended, f"call failed: {err}")

        self.ep.call_soon(go)
        return key

    # -- call events ------------------------------------------------------------------------

    def _legs_of(self, call: SipCall) -> CallLegs | None:
        legs = self.legs_by_key.get(call.tag)
        if legs is not None and (legs.call is call or legs.consult is call):
            return legs
        return None

    def _on_call(self, kind: str, data: dict[str, Any]) -> None:
        call: SipCall = data["call"]
        legs = self._legs_of(call)
        if kind == "transfer_refused":
            self._transfer_refused(call, legs, data["dst"])
            return
        if legs is None:
            return
        if call is legs.consult:
            self._on_consult(legs, kind, data)
            return
        if kind == "media" and data["active"] and legs.port is None and legs.session is not None:
            legs.port = LinePort(
                f"{legs.meta.key}",
                self.ep.clock_rate,
                legs.session.on_frame,
                legs.session.next_frame,
            )
            call.connect(legs.port)
        elif kind == "state":
            self._on_state(legs, data)
        elif kind == "dtmf" and legs.session is not None and not legs.bridged:
            self.report(Dtmf(call=legs.meta.key, digit=data["digit"], method=data["method"]))
            self.pool.submit(legs.session.on_dtmf, data["digit"])
        elif kind == "transfer_status":
            self._on_blind_status(legs, data)

    def _transfer_refused(self, call: SipCall, legs: CallLegs | None, dst: str) -> None:
        """A REFER the call leg declined (SipCall does): a security event, the call goes on."""
        self.report(
            TransferRefused(
                call=legs.meta.key if legs is not None else call.tag,
                to=dst,
                source=legs.meta.source if legs is not None else "",
                caller=legs.meta.caller if legs is not None else "",
                code=DECLINE,
            )
        )

    def _on_state(self, legs: CallLegs, data: dict[str, Any]) -> None:
        state, key = data["state"], legs.meta.key
        if state == "confirmed" and legs.session is not None:
            self.report(CallConnected(call=key, remote=data["remote"]))
            self.ep.call_later(1.0, lambda: self._sample(legs))
            self.pool.submit(legs.session.on_connected)
        elif state == "disconnected":
            stats = {**legs.stats, **({"media": legs.port.stats()} if legs.port else {})}
            self.report(
                CallEnded(
                    call=key,
                    code=data["code"],
                    reason=data["reason"],
                    duration_s=round(data["duration_s"], 2),
                    stats=stats,
                )
            )
            legs.call.disconnect_port()
            if legs.consult is not None and legs.consult.state in LIVE:
                legs.consult.end()  # the caller left: the person's phone stops ringing too
            self._retire(legs)
            if legs.session is not None and not legs.bridged:
                self.pool.submit(legs.session.on_ended, "caller hung up")

    def _sample(self, legs: CallLegs) -> None:
        if legs.call.state == "confirmed":
            legs.stats["rtp"] = legs.call.rtp_stats() or legs.stats.get("rtp", {})
            self.ep.call_later(1.0, lambda: self._sample(legs))

    def _retire(self, legs: CallLegs) -> None:
        if all(leg is None or leg.state not in LIVE for leg in (legs.call, legs.consult)):
            self.legs_by_key.pop(legs.meta.key, None)
            for leg in (legs.call, legs.consult):
                if leg is not None:
                    self.ep.bury(leg)
            # ports go now, on this thread (a pjsua2 object deleted elsewhere aborts)
            legs.port = legs.consult_port = None

    # -- control from sessions (any thread) -------------------------------------------------

    def hangup(self, key: str) -> None:
        def go() -> None:
            legs = self.legs_by_key.get(key)
            if legs is not None and not legs.bridged:
                legs.call.end()

        self.ep.call_soon(go)
