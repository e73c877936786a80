"""Calls and accounts as thin pjsua2 subclasses: every callback becomes a `(kind, data)` report to
the owner's handler, which runs on the SIP thread and must not block."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

from appliance.config.sip import SipAccount

_LOGGER = logging.getLogger(__name__)
Handler = Callable[[str, dict[str, Any]], None]
STATES = {
    pj.PJSIP_INV_STATE_NULL: "null",
    pj.PJSIP_INV_STATE_CALLING: "calling",
    pj.PJSIP_INV_STATE_INCOMING: "incoming",
    pj.PJSIP_INV_STATE_EARLY: "early",
    pj.PJSIP_INV_STATE_CONNECTING: "connecting",
    pj.PJSIP_INV_STATE_CONFIRMED: "confirmed",
    pj.PJSIP_INV_STATE_DISCONNECTED: "disconnected",
}
DECLINE = 603  # the answer to every REFER the box does not follow
_RURI = re.compile(r"^[A-Z]+\s+(?:sips?:)?([^@;>\s]+)@", re.M)


def request_user(whole_msg: str) -> str:
    """The user part of a request's Request-URI ("" when there is none)."""
    m = _RURI.search(whole_msg)
    return m.group(1) if m else ""


def header(whole_msg: str, name: str) -> str:
    m = re.search(rf"^{re.escape(name)}:\s*(.*?)\r?$", whole_msg, re.M | re.I)
    return m.group(1) if m else ""


def op(code: int = 0, reason: str = "", headers: dict[str, str] | None = None) -> Any:
    prm = pj.CallOpParam(True)
    if code:
        prm.statusCode = code
    if reason:
        prm.reason = reason
    for name, value in (headers or {}).items():
        h = pj.SipHeader()
        h.hName = name
        h.hValue = value
        prm.txOption.headers.append(h)
    return prm


class SipCall(pj.Call):  # type: ignore[misc]
    """One call leg; its owner decides everything through `handler`."""

    def __init__(self, acc: Any, call_id: int = pj.PJSUA_INVALID_ID, *, handler: Handler):
        super().__init__(acc, call_id)
        self.handler = handler
        self.acc = acc
        self.port: Any = None  # a LinePort once media is up
        self.audio: Any = None  # the call's AudioMedia
        self.state = "null"
        self.tag = ""  # the owner's name for this leg
        self.follow_redirects = False
        # A REFER asks this leg to call somewhere else on the box's account: toll fraud when it
        # comes from a caller. Refused (603) unless the owner opts in (only the test phone does).
        self.follow_transfers = False
        # An INVITE with Replaces takes this leg over (pjsua answers it by itself and ends this
        # one): refused unless the owner opts in (the test extension, for attended transfers).
        self.accept_replaces = False

    def _report(self, kind: str, **data: Any) -> None:
        try:
            self.handler(kind, {"call": self, **data})
        except Exception:
            _LOGGER.exception("call handler failed on %s", kind)

    def onCallState(self, prm: Any) -> None:
        ci = self.getInfo()
        self.state = STATES.get(ci.state, str(ci.state))
        self._report(
            "state",
            state=self.state,
            code=int(ci.lastStatusCode),
            reason=str(ci.lastReason),
            remote=str(ci.remoteUri),
            duration_s=float(ci.connectDuration.sec + ci.connectDuration.msec / 1000),
        )

    def onCallMediaState(self, prm: Any) -> None:
        ci = self.getInfo()
        for mi in ci.media:
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                self.audio = self.getAudioMedia(mi.index)
                self._report("media", active=True)
                return
        self._report("media", active=False)

    def onDtmfDigit(self, prm: Any) -> None:
        method = "info" if prm.method == pj.PJSUA_DTMF_METHOD_SIP_INFO else "rfc2833"
        self._report("dtmf", digit=str(prm.digit), method=method)

    def onCallTransferRequest(self, prm: Any) -> None:
        """A REFER from the far end: declined (603) unless `follow_transfers`; pjsua would
        otherwise accept it and dial the Refer-To URI itself. The call goes on either way."""
        dst = str(prm.dstUri)
        if not self.follow_transfers:
            prm.statusCode = DECLINE
            _LOGGER.warning("call %s: transfer request to %s refused", self.tag or "-", dst)
            self._report("transfer_refused", dst=dst)
            return
        self._report("transfer_request", prm=prm, dst=dst)

    def onCallRedirected(self, prm: Any) -> int:
        """A 3xx answer: follow it only when the owner said so (`follow_redirects`)."""
        self._report("redirected", to=str(prm.targetUri))
        return int(pj.PJSIP_REDIRECT_ACCEPT if self.follow_redirects else pj.PJSIP_REDIRECT_STOP)

    def onCallTransferStatus(self, prm: Any) -> None:
        self._report(
            "transfer_status",
            prm=prm,
            code=int(prm.statusCode),
            reason=str(prm.reason),
            final=bool(prm.finalNotify),
        )

    def onCallReplaceRequest(self, prm: Any) -> None:
        if not self.accept_replaces:
            prm.statusCode = DECLINE
            prm.reason = "Decline"
            _LOGGER.warning("call %s: an INVITE with Replaces for it refused", self.tag or "-")

    def onCallReplaced(self, prm: Any) -> None:
        """An INVITE with Replaces took this leg over: the owner gives the new call an object
        (`prm.newCall = SipCall(acc, prm.newCallId, ...)`), or it has no callbacks."""
        self._report("replaced", prm=prm, new_call_id=int(prm.newCallId))

    # -- helpers (SIP thread only) ----------------------------------------------------------

    def connect(self, port: Any) -> None:
        """Bridge the call's audio both ways with a port."""
        self.port = port
        self.audio.startTransmit(port)
        port.startTransmit(self.audio)

    def disconnect_port(self) -> None:
        if self.port is not None and self.audio is not None:
            try:
                self.audio.stopTransmit(self.port)
                self.port.stopTransmit(self.audio)
            except Exception:
                _LOGGER.debug("port already disconnected", exc_info=True)

    def bridge(self, other: SipCall) -> None:
        """Connect this call's audio with another call's (the box steps out of the media)."""
        self.disconnect_port()
        other.disconnect_port()
        self.audio.startTransmit(other.audio)
        other.audio.startTransmit(self.audio)

    def rtp_stats(self) -> dict[str, Any]:
        try:
            st = self.getStreamStat(0)
        except Exception:
            return {}
        rx = st.rtcp.rxStat
        return {
            "rx_packets": int(rx.pkt),
            "rx_lost": int(rx.loss),
            "rx_discarded": int(rx.discard),
            "rx_jitter_ms": round(rx.jitterUsec.mean / 1000, 2),
            "tx_packets": int(st.rtcp.txStat.pkt),
        }

    def retire(self) -> None:
        """Drop what an ended call holds (its port, its owner's handler)."""
        self.handler = lambda kind, data: None
        self.port = None
        self.audio = None

    def end(self, code: int = 0) -> None:
        if self.state == "disconnected":
            return
        try:
            self.hangup(op(code))
        except Exception:
            _LOGGER.debug("hangup of a call already ending", exc_info=True)


class SipAccountObj(pj.Account):  # type: ignore[misc]
    """An account (registered, or the local one of peer mode)."""

    def __init__(self, handler: Handler, settings: SipAccount | None = None):
        super().__init__()
        self.handler = handler
        self.settings = settings
        self.reg_state = "none"

    def onRegState(self, prm: Any) -> None:
        try:
            self.handler(
                "reg",
                {
                    "account": self,
                    "code": int(prm.code),
                    "reason": str(prm.reason),
                    "expires": int(prm.expiration),
                },
            )
        except Exception:
            _LOGGER.exception("account handler failed")

    def onIncomingCall(self, prm: Any) -> None:
        rdata = prm.rdata
        try:
            self.handler(
                "incoming",
                {
                    "account": self,
                    "call_id": int(prm.callId),
                    "source": str(rdata.srcAddress),
                    "msg": str(rdata.wholeMsg),
                },
            )
        except Exception:
            _LOGGER.exception("incoming call handler failed")


def account_config(
    settings: SipAccount | None,
    *,
    local_uri: str,
    transport_id: int,
    register: bool = True,
) -> Any:
    """pjsua2 AccountConfig for a PBX account, or for the local (peer-mode) account."""
    cfg = pj.AccountConfig()
    cfg.sipConfig.transportId = transport_id
    cfg.mediaConfig.transportConfig.port = 0  # any free RTP port
    if settings is None:
        cfg.idUri = local_uri
        return cfg
    cfg.idUri = settings.aor
    scheme = "sips" if settings.transport == "tls" else "sip"
    params = ";transport=tcp" if settings.transport == "tcp" else ""
    if register:
        cfg.regConfig.registrarUri = f"{scheme}:{settings.registrar}{params}"
        cfg.regConfig.timeoutSec = settings.expires_s
        cfg.regConfig.retryIntervalSec = 0  # the daemon backs off itself
        cfg.regConfig.registerOnAdd = True
    cfg.sipConfig.proxies.append(f"{scheme}:{settings.registrar}{params};lr")
    cred = pj.AuthCredInfo(
        "digest",
        "*",
        settings.auth_user or settings.user,
        0,
        settings.password.get_secret_value(),
    )
    cfg.sipConfig.authCreds.append(cred)
    return cfg
