"""A plain phone with no assistant: the test caller of `voicebox call --wav` and the test extension
of `voicebox extension`. It plays a WAV's frames into the call, records what it hears and reports
each step as an event (appliance/sip/phone_events.py), kept and passed on in its wire form."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pjsua2 as pj

from appliance.audio.pcm import Samples, frame_len, rms_dbfs
from appliance.config.sip import SipAccount
from appliance.sip.calls import DECLINE, SipAccountObj, SipCall, account_config, header, op
from appliance.sip.endpoint import SipEndpoint
from appliance.sip.events import DtmfMethod
from appliance.sip.media import LinePort
from appliance.sip.phone_events import (
    PhoneCallDone,
    PhoneCalling,
    PhoneConnected,
    PhoneDisconnected,
    PhoneDone,
    PhoneDtmfReceived,
    PhoneDtmfSent,
    PhoneError,
    PhoneEvent,
    PhoneHangup,
    PhoneIncoming,
    PhoneMediaStats,
    PhoneRedirected,
    PhoneRegistration,
    PhoneReplaced,
    PhoneRinging,
    PhoneTransferRefused,
    PhoneTransferRequest,
    PhoneTransferStatus,
    PhoneWavEnd,
)

_LOGGER = logging.getLogger(__name__)
Report = Callable[[dict[str, Any]], None]  # each event's wire form (cli/sip.py _printer)
HEARD_DBFS = -45.0


@dataclass
class DtmfPlan:
    at_s: float  # after the call connected
    digits: str
    method: DtmfMethod = "rfc2833"  # or "info"


def parse_dtmf(spec: str) -> list[DtmfPlan]:
    """'0@4' or '123#@2.5:info,0@9' -> plans (digits @ seconds after connect [: method])."""
    plans = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        digits, _, rest = part.partition("@")
        at, _, method = rest.partition(":")
        if not digits or any(c not in "0123456789*#ABCD" for c in digits):
            raise ValueError(f"bad DTMF digits {digits!r} in {spec!r}")
        if method not in ("", "rfc2833", "info"):
            raise ValueError(f"bad DTMF method {method!r} (rfc2833 or info)")
        plans.append(DtmfPlan(float(at or 0), digits, "info" if method == "info" else "rfc2833"))
    return plans


def heard_spans(audio: Samples, rate: int, *, gap_ms: int = 300) -> list[tuple[int, int]]:
    """Where the recording has sound: (start_ms, end_ms) of frames above HEARD_DBFS, joined
    across gaps shorter than `gap_ms`."""
    n = frame_len(rate)
    spans: list[list[int]] = []
    for i in range(len(audio) // n):
        if rms_dbfs(audio[i * n : (i + 1) * n]) > HEARD_DBFS:
            t = i * 20
            if spans and t - spans[-1][1] <= gap_ms:
                spans[-1][1] = t + 20
            else:
                spans.append([t, t + 20])
    return [(a, b) for a, b in spans]


def _joined(frames: list[Samples]) -> Samples:
    return np.concatenate(frames) if frames else np.zeros(0, dtype=np.float32)


@dataclass
class _Leg:
    call: SipCall
    port: LinePort | None = None
    connected_at: float = 0.0
    rtp: dict[str, Any] = field(default_factory=dict)
    rec: list[Samples] = field(default_factory=list)  # what this leg heard


@dataclass
class PhoneResult:
    connected: bool = False
    code: int = 0
    reason: str = ""
    duration_s: float = 0.0
    recording: Samples = field(default_factory=lambda: np.zeros(0, np.float32))
    events: list[dict[str, Any]] = field(default_factory=list)  # wire forms, as --json prints


class Phone:
    """Dials out (`dial`) or answers (`answer_calls`) and plays `frames`, recording the far end."""

    def __init__(
        self,
        ep: SipEndpoint,
        frames: list[Samples],
        *,
        report: Report | None = None,
        tail_s: float = 3.0,
        account: SipAccount | None = None,
        register: bool = False,
        dtmf: list[DtmfPlan] | None = None,
        max_s: float = 300.0,
        ring_only: bool = False,
        follow_transfers: bool = True,
    ) -> None:
        self.ep = ep
        self.frames = frames
        self.report_to = report
        self.tail_s = tail_s
        self.settings = account
        self.register = register
        self.dtmf = dtmf or []
        self.max_s = max_s
        self.ring_only = ring_only  # an extension nobody picks up
        self.follow_transfers = follow_transfers  # False: REFERs get 603, like the box's calls
        self.rate = ep.clock_rate
        self.result = PhoneResult()
        self.done = threading.Event()
        self.registered = threading.Event()
        self.t0 = time.monotonic()
        self._pos = 0  # next frame to play (shared by every leg of the call)
        self._rec: list[Samples] = []
        self._legs: list[_Leg] = []
        self._acc: SipAccountObj | None = None
        self._ending = False
        self.answering = False

    # -- events -----------------------------------------------------------------------------

    def _now(self) -> float:
        """An event's `t`: seconds since this phone was made."""
        return round(time.monotonic() - self.t0, 3)

    def _emit(self, event: PhoneEvent) -> None:
        ev = event.to_wire()
        self.result.events.append(ev)
        if self.report_to is not None:
            self.report_to(ev)

    # -- setup (SIP thread) -----------------------------------------------------------------

    def _create_account(self) -> None:
        host, port = self.ep.address()
        acc = SipAccountObj(self._on_account, self.settings)
        acc.create(
            account_config(
                self.settings,
                local_uri=f"sip:phone@{host}:{port}",
                transport_id=self.ep.transport_id(
                    self.settings.transport if self.settings else "udp"
                ),
                register=self.register,
            )
        )
        self._acc = acc

    def dial(self, uri: str, headers: dict[str, str] | None = None) -> None:
        def go() -> None:
            self._create_account()
            call = SipCall(self._acc, handler=self._on_call)
            call.follow_redirects = True  # a test caller goes where the box redirects it
            # and where its transfer (REFER) sends it, unless told to refuse like a box
            call.follow_transfers = self.follow_transfers
            self._legs.append(_Leg(call))
            self._emit(PhoneCalling(t=self._now(), uri=uri))
            try:
                call.makeCall(uri, op(headers=headers))
            except Exception as err:
                self._emit(PhoneError(t=self._now(), message=f"cannot call {uri}: {err}"))
                self._finish(0, str(err))

        self.ep.call_soon(go)

    def answer_calls(self) -> None:
        """Register (when an account is given) and answer every call."""
        self.answering = True
        self.ep.call_soon(self._create_account)

    # -- callbacks (SIP thread) -------------------------------------------------------------

    def _on_account(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "reg":
            ok = 200 <= data["code"] < 300
            self._emit(
                PhoneRegistration(t=self._now(), code=data["code"], reason=data["reason"], ok=ok)
            )
            if ok:
                self.registered.set()
        elif kind == "incoming":
            call = SipCall(data["account"], data["call_id"], handler=self._on_call)
            call.follow_transfers = True  # a test phone, not a box: it goes where it is sent
            call.accept_replaces = True  # an attended transfer may swap this call for another
            self._legs.append(_Leg(call))
            self._pos, self._ending, self._rec = 0, False, []
            msg = data["msg"]
            self._emit(
                PhoneIncoming(
                    t=self._now(),
                    source=data["source"],
                    from_=header(msg, "From"),
                    summary=header(msg, "X-Voicebox-Summary"),
                )
            )
            call.answer(op(180 if self.ring_only else 200))

    def _leg(self, call: SipCall) -> _Leg | None:
        return next((leg for leg in self._legs if leg.call is call), None)

    def _on_call(self, kind: str, data: dict[str, Any]) -> None:
        call: SipCall = data["call"]
        leg = self._leg(call)
        if leg is None:
            return
        if kind == "state":
            self._on_state(leg, data)
        elif kind == "media" and data["active"] and leg.port is None:
            leg.port = LinePort(f"phone{len(self._legs)}", self.rate, self._hears(leg), self._say)
            call.connect(leg.port)
        elif kind == "transfer_request":
            new = SipCall(self._acc, handler=self._on_call)
            new.follow_transfers = self.follow_transfers
            self._legs.append(_Leg(new))
            data["prm"].newCall = new
            self._emit(PhoneTransferRequest(t=self._now(), to=data["dst"]))
        elif kind == "transfer_refused":
            self._emit(PhoneTransferRefused(t=self._now(), to=data["dst"], code=DECLINE))
        elif kind == "replaced":  # an attended transfer: this leg's caller is someone else now
            new = SipCall(self._acc, data["new_call_id"], handler=self._on_call)
            new.follow_transfers = new.accept_replaces = True
            self._legs.append(_Leg(new))
            data["prm"].newCall = new
            self._emit(
                PhoneReplaced(t=self._now(), leg=self._legs.index(leg), by=len(self._legs) - 1)
            )
        elif kind == "redirected":
            self._emit(PhoneRedirected(t=self._now(), to=data["to"]))
        elif kind == "transfer_status":
            self._emit(PhoneTransferStatus(t=self._now(), code=data["code"], final=data["final"]))
        elif kind == "dtmf":
            self._emit(PhoneDtmfReceived(t=self._now(), digit=data["digit"], method=data["method"]))

    def _on_state(self, leg: _Leg, data: dict[str, Any]) -> None:
        state = data["state"]
        if state == "early":
            self._emit(PhoneRinging(t=self._now(), code=data["code"]))
        elif state == "confirmed":
            leg.connected_at = time.monotonic()
            self.result.connected = True
            self._emit(
                PhoneConnected(t=self._now(), remote=data["remote"], leg=self._legs.index(leg))
            )
            for plan in self.dtmf:
                self.ep.call_later(plan.at_s, self._dtmf_task(leg.call, plan))
            self.ep.call_later(self.max_s, lambda: self.hangup("time limit"))
            self.ep.call_later(1.0, lambda: self._sample_rtp(leg))
        elif state == "disconnected":
            self._emit(
                PhoneDisconnected(
                    t=self._now(),
                    code=data["code"],
                    reason=data["reason"],
                    duration_s=round(data["duration_s"], 2),
                    leg=self._legs.index(leg),
                    heard_ms=heard_spans(_joined(leg.rec), self.rate),
                    rtp=leg.rtp or None,
                )
            )
            if leg.port is not None:
                stats = leg.port.stats()
                self._emit(
                    PhoneMediaStats(
                        t=self._now(),
                        leg=self._legs.index(leg),
                        rx=stats["rx"],
                        tx=stats["tx"],
                        rx_audio=stats["rx_audio"],
                        errors=stats["errors"],
                    )
                )
            self.result.code, self.result.reason = data["code"], data["reason"]
            self.result.duration_s += data["duration_s"]
            leg.call.disconnect_port()
            # a transferred call goes on in another leg; otherwise this phone call is over
            if not any(
                x.call.state in ("calling", "early", "connecting", "confirmed", "null")
                for x in self._legs
                if x is not leg
            ):
                self._finish(data["code"], data["reason"])

    def _sample_rtp(self, leg: _Leg) -> None:
        """RTP counters while the call lasts (the stream is gone once it is disconnected)."""
        if leg.call.state == "confirmed":
            leg.rtp = leg.call.rtp_stats() or leg.rtp
            self.ep.call_later(1.0, lambda: self._sample_rtp(leg))

    def _dtmf_task(self, call: SipCall, plan: DtmfPlan) -> Callable[[], None]:
        return lambda: self._send_dtmf(call, plan)

    def _send_dtmf(self, call: SipCall, plan: DtmfPlan) -> None:
        if call.state != "confirmed":
            return
        prm = pj.CallSendDtmfParam()
        prm.digits = plan.digits
        prm.method = (
            pj.PJSUA_DTMF_METHOD_SIP_INFO if plan.method == "info" else pj.PJSUA_DTMF_METHOD_RFC2833
        )
        call.sendDtmf(prm)
        self._emit(PhoneDtmfSent(t=self._now(), digits=plan.digits, method=plan.method))

    # -- media (clock thread: buffer work only) ---------------------------------------------

    def _hears(self, leg: _Leg) -> Callable[[Samples], None]:
        def heard(frame: Samples) -> None:
            f = frame.copy()
            self._rec.append(f)
            leg.rec.append(f)

        return heard

    def _say(self) -> Samples:
        i = self._pos
        self._pos += 1
        if i < len(self.frames):
            return self.frames[i]
        if i == len(self.frames) and not self._ending:
            self._ending = True
            self.ep.call_soon(self._wav_done)
        return np.zeros(frame_len(self.rate), dtype=np.float32)

    def _wav_done(self) -> None:
        self._emit(PhoneWavEnd(t=self._now(), played_s=round(len(self.frames) * 0.02, 2)))
        if self.tail_s >= 0:
            self.ep.call_later(self.tail_s, lambda: self.hangup("wav ended"))

    # -- ending -----------------------------------------------------------------------------

    def hangup(self, why: str) -> None:
        live = [leg for leg in self._legs if leg.call.state not in ("disconnected",)]
        if not live:
            self._finish(self.result.code, why)
            return
        self._emit(PhoneHangup(t=self._now(), reason=why))
        for leg in live:
            leg.call.end()

    def _finish(self, code: int, reason: str) -> None:
        if self.done.is_set():
            return
        self.result.recording = _joined(self._rec)
        spans = heard_spans(self.result.recording, self.rate)
        done = PhoneCallDone if self.answering else PhoneDone
        self._emit(
            done(
                t=self._now(),
                connected=self.result.connected,
                code=code,
                reason=reason,
                duration_s=round(self.result.duration_s, 2),
                recorded_s=round(len(self.result.recording) / self.rate, 2),
                heard_ms=spans,
            )
        )
        if self.answering:  # an extension keeps answering; ended legs go after this callback
            self.ep.call_later(1.0, self._bury_ended)
            return
        self.done.set()

    def _bury_ended(self) -> None:
        for leg in self._legs:
            if leg.call.state == "disconnected":
                self.ep.bury(leg.call)
        self._legs = [leg for leg in self._legs if leg.call.state != "disconnected"]

    def close(self) -> None:
        """Drop every pjsua2 object (SIP thread) before the endpoint is destroyed."""

        def drop() -> None:
            for leg in self._legs:
                leg.call.disconnect_port()
            self._legs.clear()
            if self._acc is not None:
                self._acc.shutdown()
                self._acc = None

        self.ep.run(drop)
