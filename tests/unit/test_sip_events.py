"""The SIP room's typed events keep the wire shapes of the dicts they replaced: each event built
the way its producer builds it gives, in `to_wire()`, the very dict the old code reported (the
expected dicts are written out from the old producers), optional keys left out when absent. The
event modules load without pjsua2; a few producers are driven for real (registration, transfer
desk, switchboard, test phone) to see they report these events."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest

from appliance.config.sip import Sip, SipAccount
from appliance.events import BoxEvent
from appliance.sip.events import (
    SIP_EVENTS,
    CallConnected,
    CallDialing,
    CallEnded,
    CallFailed,
    CallIncoming,
    CallOverflow,
    CallRejected,
    Dtmf,
    RegistrationResult,
    TransferDone,
    TransferFailed,
    TransferRefer,
    TransferRefused,
    TransferStart,
)
from appliance.sip.phone_events import (
    PHONE_EVENTS,
    PhoneCallDone,
    PhoneCalling,
    PhoneConnected,
    PhoneDisconnected,
    PhoneDone,
    PhoneDtmfReceived,
    PhoneDtmfSent,
    PhoneError,
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

RTP = {"rx_packets": 250, "rx_lost": 0, "rx_discarded": 0, "rx_jitter_ms": 1.5, "tx_packets": 251}
CLOCK = {"frames": 250, "late": 0, "gap_p50_ms": 20.0, "gap_p99_ms": 21.0, "gap_max_ms": 22.0}
MEDIA = {"rx": CLOCK, "tx": CLOCK, "rx_audio": 240, "errors": 0}

# (the event as its producer builds it, the dict the old producer reported)
BOX_CASES: list[tuple[BoxEvent, dict[str, Any]]] = [
    # switchboard._incoming: the guard refuses the source
    (
        CallRejected(
            source="10.9.9.9:5060", caller="<sip:1@x>", code=403, reason="source not allowed"
        ),
        {
            "type": "call_rejected",
            "source": "10.9.9.9:5060",
            "caller": "<sip:1@x>",
            "code": 403,
            "reason": "source not allowed",
        },
    ),
    # endpoint._Endpoint.onRejectedIncomingCall: pjsua refuses it (no source)
    (
        CallRejected(caller="<sip:1@x>", code=486, reason="Busy Here"),
        {"type": "call_rejected", "caller": "<sip:1@x>", "code": 486, "reason": "Busy Here"},
    ),
    (
        CallIncoming(call="c1", caller="<sip:201@pbx>", source="10.0.0.1:5060", assistant="desk"),
        {
            "type": "call_incoming",
            "call": "c1",
            "caller": "<sip:201@pbx>",
            "source": "10.0.0.1:5060",
            "assistant": "desk",
        },
    ),
    (
        CallOverflow(caller="<sip:201@pbx>", source="10.0.0.1:5060", action="busy", code=486),
        {
            "type": "call_overflow",
            "caller": "<sip:201@pbx>",
            "source": "10.0.0.1:5060",
            "action": "busy",
            "code": 486,
        },
    ),
    (
        CallOverflow(
            caller="<sip:201@pbx>", source="10.0.0.1:5060", action="transfer", to="sip:300@pbx"
        ),
        {
            "type": "call_overflow",
            "caller": "<sip:201@pbx>",
            "source": "10.0.0.1:5060",
            "action": "transfer",
            "to": "sip:300@pbx",
        },
    ),
    # switchboard._overflow: the overflow call's caller REFERs elsewhere (no call key)
    (
        TransferRefused(
            to="sip:0900@evil", source="10.0.0.1:5060", caller="<sip:201@pbx>", code=603
        ),
        {
            "type": "transfer_refused",
            "caller": "<sip:201@pbx>",
            "source": "10.0.0.1:5060",
            "to": "sip:0900@evil",
            "code": 603,
        },
    ),
    # switchboard._transfer_refused: a call's far end REFERs
    (
        TransferRefused(
            call="c2", to="sip:0900@evil", source="10.0.0.1:5060", caller="<sip:201@pbx>", code=603
        ),
        {
            "type": "transfer_refused",
            "call": "c2",
            "to": "sip:0900@evil",
            "source": "10.0.0.1:5060",
            "caller": "<sip:201@pbx>",
            "code": 603,
        },
    ),
    (
        TransferRefused(call="", to="sip:0900@evil", source="", caller="", code=603),
        {
            "type": "transfer_refused",
            "call": "",
            "to": "sip:0900@evil",
            "source": "",
            "caller": "",
            "code": 603,
        },
    ),
    (
        CallFailed(call="c1", message="no session: boom"),
        {"type": "error", "call": "c1", "message": "no session: boom"},
    ),
    (
        CallDialing(call="c3", uri="sip:200@pbx", assistant="sales"),
        {"type": "call_dialing", "call": "c3", "uri": "sip:200@pbx", "assistant": "sales"},
    ),
    (
        CallFailed(call="c3", message="cannot call sip:200@pbx: bad uri"),
        {"type": "error", "call": "c3", "message": "cannot call sip:200@pbx: bad uri"},
    ),
    (
        Dtmf(call="c1", digit="5", method="rfc2833"),
        {"type": "dtmf", "call": "c1", "digit": "5", "method": "rfc2833"},
    ),
    (
        CallConnected(call="c1", remote="<sip:201@pbx>"),
        {"type": "call_connected", "call": "c1", "remote": "<sip:201@pbx>"},
    ),
    # switchboard._on_state: the caller's leg, with its stats (empty when nothing was sampled)
    (
        CallEnded(
            call="c1",
            code=200,
            reason="Normal call clearing",
            duration_s=12.35,
            stats={"rtp": RTP, "media": MEDIA},
        ),
        {
            "type": "call_ended",
            "call": "c1",
            "code": 200,
            "reason": "Normal call clearing",
            "duration_s": 12.35,
            "stats": {"rtp": RTP, "media": MEDIA},
        },
    ),
    (
        CallEnded(call="c1", code=487, reason="Request Terminated", duration_s=0.0, stats={}),
        {
            "type": "call_ended",
            "call": "c1",
            "code": 487,
            "reason": "Request Terminated",
            "duration_s": 0.0,
            "stats": {},
        },
    ),
    # transfers._on_consult: the person's leg (no stats)
    (
        CallEnded(call="c1", leg="human", code=200, reason="Normal call clearing", duration_s=4.2),
        {
            "type": "call_ended",
            "call": "c1",
            "leg": "human",
            "code": 200,
            "reason": "Normal call clearing",
            "duration_s": 4.2,
        },
    ),
    (
        TransferStart(call="c1", human="reception", uri="sip:300@pbx", mode="warm"),
        {
            "type": "transfer_start",
            "call": "c1",
            "human": "reception",
            "uri": "sip:300@pbx",
            "mode": "warm",
        },
    ),
    (
        TransferFailed(call="c1", human="reception", reason="no answer in 20 s"),
        {
            "type": "transfer_failed",
            "call": "c1",
            "human": "reception",
            "reason": "no answer in 20 s",
        },
    ),
    (
        TransferDone(call="c1", human="reception", mode="blind"),
        {"type": "transfer_done", "call": "c1", "human": "reception", "mode": "blind"},
    ),
    (
        TransferRefer(call="c1", human="reception"),
        {"type": "transfer_refer", "call": "c1", "human": "reception"},
    ),
    # transfers._done: `why` only when there is one
    (
        TransferDone(call="c1", human="reception", mode="bridge", why="no Replaces"),
        {
            "type": "transfer_done",
            "call": "c1",
            "human": "reception",
            "mode": "bridge",
            "why": "no Replaces",
        },
    ),
    (
        TransferDone(call="c1", human="reception", mode="attended", why=None),
        {"type": "transfer_done", "call": "c1", "human": "reception", "mode": "attended"},
    ),
    # registration.on_result: retry_in_s after a failure, refresh after a success
    (
        RegistrationResult(
            account="sip:100@pbx", state="failed", code=408, reason="Timeout", retry_in_s=2.0
        ),
        {
            "type": "registration",
            "account": "sip:100@pbx",
            "state": "failed",
            "code": 408,
            "reason": "Timeout",
            "retry_in_s": 2.0,
        },
    ),
    (
        RegistrationResult(
            account="sip:100@pbx", state="registered", code=200, reason="OK", refresh=False
        ),
        {
            "type": "registration",
            "account": "sip:100@pbx",
            "state": "registered",
            "code": 200,
            "reason": "OK",
            "refresh": False,
        },
    ),
    (
        RegistrationResult(account="sip:100@pbx", state="unregistered", code=200, reason="OK"),
        {
            "type": "registration",
            "account": "sip:100@pbx",
            "state": "unregistered",
            "code": 200,
            "reason": "OK",
        },
    ),
]

SPANS = [(0, 1240), (2000, 2600)]
PHONE_CASES: list[tuple[BoxEvent, dict[str, Any]]] = [
    (
        PhoneCalling(t=0.012, uri="sip:100@127.0.0.1:5070"),
        {"type": "calling", "t": 0.012, "uri": "sip:100@127.0.0.1:5070"},
    ),
    (
        PhoneError(t=0.02, message="cannot call sip:x: bad"),
        {"type": "error", "t": 0.02, "message": "cannot call sip:x: bad"},
    ),
    (
        PhoneRegistration(t=0.3, code=200, reason="OK", ok=True),
        {"type": "registration", "t": 0.3, "code": 200, "reason": "OK", "ok": True},
    ),
    (
        PhoneIncoming(
            t=1.5, source="127.0.0.1:5070", from_="<sip:voicebox@pbx>", summary="wants a refund"
        ),
        {
            "type": "incoming",
            "t": 1.5,
            "source": "127.0.0.1:5070",
            "from": "<sip:voicebox@pbx>",
            "summary": "wants a refund",
        },
    ),
    (
        PhoneTransferRequest(t=2.0, to="<sip:300@pbx>"),
        {"type": "transfer_request", "t": 2.0, "to": "<sip:300@pbx>"},
    ),
    (
        PhoneTransferRefused(t=2.0, to="<sip:300@pbx>", code=603),
        {"type": "transfer_refused", "t": 2.0, "to": "<sip:300@pbx>", "code": 603},
    ),
    (PhoneReplaced(t=3.0, leg=0, by=1), {"type": "replaced", "t": 3.0, "leg": 0, "by": 1}),
    (
        PhoneRedirected(t=0.1, to="sip:200@pbx"),
        {"type": "redirected", "t": 0.1, "to": "sip:200@pbx"},
    ),
    (
        PhoneTransferStatus(t=2.5, code=200, final=True),
        {"type": "transfer_status", "t": 2.5, "code": 200, "final": True},
    ),
    (
        PhoneDtmfReceived(t=4.0, digit="1", method="info"),
        {"type": "dtmf_received", "t": 4.0, "digit": "1", "method": "info"},
    ),
    (PhoneRinging(t=0.05, code=180), {"type": "ringing", "t": 0.05, "code": 180}),
    (
        PhoneConnected(t=0.2, remote="<sip:100@legs>", leg=0),
        {"type": "connected", "t": 0.2, "remote": "<sip:100@legs>", "leg": 0},
    ),
    (
        PhoneDisconnected(
            t=9.0, code=200, reason="OK", duration_s=8.8, leg=0, heard_ms=SPANS, rtp=RTP
        ),
        {
            "type": "disconnected",
            "t": 9.0,
            "code": 200,
            "reason": "OK",
            "duration_s": 8.8,
            "leg": 0,
            "heard_ms": SPANS,
            "rtp": RTP,
        },
    ),
    # no RTP counters sampled (`leg.rtp` empty): no "rtp" key
    (
        PhoneDisconnected(t=0.4, code=486, reason="Busy", duration_s=0.0, leg=1, heard_ms=[]),
        {
            "type": "disconnected",
            "t": 0.4,
            "code": 486,
            "reason": "Busy",
            "duration_s": 0.0,
            "leg": 1,
            "heard_ms": [],
        },
    ),
    (
        PhoneMediaStats(t=9.0, leg=0, **MEDIA),
        {"type": "media_stats", "t": 9.0, "leg": 0, **MEDIA},
    ),
    (
        PhoneDtmfSent(t=4.0, digits="123#", method="rfc2833"),
        {"type": "dtmf_sent", "t": 4.0, "digits": "123#", "method": "rfc2833"},
    ),
    (PhoneWavEnd(t=6.0, played_s=5.8), {"type": "wav_end", "t": 6.0, "played_s": 5.8}),
    (PhoneHangup(t=9.0, reason="wav ended"), {"type": "hangup", "t": 9.0, "reason": "wav ended"}),
]
for _cls, _name in ((PhoneDone, "done"), (PhoneCallDone, "call_done")):
    PHONE_CASES.append(
        (
            _cls(
                t=9.1,
                connected=True,
                code=200,
                reason="OK",
                duration_s=8.8,
                recorded_s=8.9,
                heard_ms=SPANS,
            ),
            {
                "type": _name,
                "t": 9.1,
                "connected": True,
                "code": 200,
                "reason": "OK",
                "duration_s": 8.8,
                "recorded_s": 8.9,
                "heard_ms": SPANS,
            },
        )
    )


@pytest.mark.parametrize(("event", "wire"), BOX_CASES + PHONE_CASES)
def test_the_wire_form_is_the_old_dict(event: BoxEvent, wire: dict[str, Any]) -> None:
    assert event.to_wire() == wire


def test_every_event_class_has_a_case() -> None:
    covered = {type(ev) for ev, _ in BOX_CASES + PHONE_CASES}
    assert set(SIP_EVENTS) <= covered and set(PHONE_EVENTS) <= covered


def test_a_reported_box_event_gets_wall_and_a_phone_event_keeps_t_only() -> None:
    wire = CallConnected(call="c1", remote="r").stamped().to_wire()
    assert isinstance(wire.pop("wall"), float)
    assert wire == {"type": "call_connected", "call": "c1", "remote": "r"}
    assert "wall" not in PhoneRinging(t=0.05, code=180).to_wire()


def test_the_event_modules_load_without_pjsua2() -> None:
    code = (
        "import sys, appliance.sip.events, appliance.sip.phone_events\n"
        "print('pjsua2' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"


# -- the producers, driven without a network --------------------------------------------------


class _Clock:
    def call_later(self, delay: float, fn: Any) -> None:
        pass


def test_registration_reports_its_results() -> None:
    from appliance.sip.registration import Registration

    seen: list[BoxEvent] = []
    acc = SipAccount(registrar="pbx", user="100")
    reg = Registration(acc, Sip(retry_min_s=2, retry_max_s=60), _Clock(), None, seen.append)  # type: ignore[arg-type]
    reg.on_result(408, "Request Timeout", 0)
    reg.on_result(200, "OK", 300)
    reg.on_result(200, "OK", 300)
    reg.on_result(200, "OK", 0)
    reg.stop()
    reg.on_result(503, "gone", 0)
    assert all(isinstance(ev, RegistrationResult) for ev in seen)
    base = {"type": "registration", "account": acc.aor}
    assert [ev.to_wire() for ev in seen] == [
        {**base, "state": "failed", "code": 408, "reason": "Request Timeout", "retry_in_s": 2.0},
        {**base, "state": "registered", "code": 200, "reason": "OK", "refresh": False},
        {**base, "state": "registered", "code": 200, "reason": "OK", "refresh": True},
        {**base, "state": "unregistered", "code": 200, "reason": "OK"},
        {**base, "state": "failed", "code": 503, "reason": "gone"},  # stopped: no retry
    ]


def _box() -> Any:
    from appliance.sip.legs import CallLegs, CallMeta

    meta = CallMeta("c4", "desk", "<sip:201@pbx>", "10.0.0.1:5060", "in")
    call = SimpleNamespace(state="disconnected", tag="c4", disconnect_port=lambda: None)
    return CallLegs(meta, call, human="reception")  # type: ignore[arg-type]


def test_the_transfer_desk_reports_done_and_failed() -> None:
    from appliance.sip.transfers import TransferDesk

    seen: list[BoxEvent] = []
    desk = TransferDesk()
    desk.report = seen.append
    legs = _box()
    desk._done(legs, "bridge", "no Replaces")
    desk._done(legs, "attended", "")
    desk._transfer_failed(legs, "reception", "486 Busy Here")
    assert [ev.to_wire() for ev in seen] == [
        {
            "type": "transfer_done",
            "call": "c4",
            "human": "reception",
            "mode": "bridge",
            "why": "no Replaces",
        },
        {"type": "transfer_done", "call": "c4", "human": "reception", "mode": "attended"},
        {"type": "transfer_failed", "call": "c4", "human": "reception", "reason": "486 Busy Here"},
    ]


def test_the_switchboard_reports_refused_transfers_and_ended_calls() -> None:
    from appliance.sip.switchboard import Switchboard

    seen: list[BoxEvent] = []
    board = SimpleNamespace(report=seen.append, _retire=lambda box: None)
    legs = _box()
    legs.stats = {"rtp": RTP}
    Switchboard._transfer_refused(board, legs.call, legs, "sip:0900@evil")  # type: ignore[arg-type]
    Switchboard._transfer_refused(board, legs.call, None, "sip:0900@evil")  # type: ignore[arg-type]
    data = {"state": "disconnected", "code": 200, "reason": "OK", "duration_s": 3.14159}
    Switchboard._on_state(board, legs, data)  # type: ignore[arg-type]
    assert [ev.to_wire() for ev in seen] == [
        {
            "type": "transfer_refused",
            "call": "c4",
            "to": "sip:0900@evil",
            "source": "10.0.0.1:5060",
            "caller": "<sip:201@pbx>",
            "code": 603,
        },
        {
            "type": "transfer_refused",
            "call": "c4",
            "to": "sip:0900@evil",
            "source": "",
            "caller": "",
            "code": 603,
        },
        {
            "type": "call_ended",
            "call": "c4",
            "code": 200,
            "reason": "OK",
            "duration_s": 3.14,
            "stats": {"rtp": RTP},
        },
    ]


def test_the_phone_keeps_and_passes_on_wire_dicts_with_t() -> None:
    from appliance.sip.phone import Phone, _Leg

    passed: list[dict[str, Any]] = []
    ep = SimpleNamespace(clock_rate=8000)
    phone = Phone(ep, [], report=passed.append)  # type: ignore[arg-type]
    call = SimpleNamespace(state="confirmed")
    phone._legs.append(_Leg(call))  # type: ignore[arg-type]
    phone._on_call("redirected", {"call": call, "to": "sip:200@pbx"})
    phone._on_call("transfer_status", {"call": call, "code": 202, "final": False, "reason": "x"})
    phone._on_call("dtmf", {"call": call, "digit": "7", "method": "rfc2833"})
    phone._on_call("transfer_refused", {"call": call, "dst": "sip:0900@evil"})
    phone._on_state(phone._legs[0], {"state": "early", "code": 180})
    call.state = "disconnected"
    phone.hangup("time limit")  # no live leg: the call is over
    assert passed == phone.result.events
    assert all(isinstance(ev["t"], float) and ev["t"] >= 0 for ev in passed)
    assert [{k: v for k, v in ev.items() if k != "t"} for ev in passed] == [
        {"type": "redirected", "to": "sip:200@pbx"},
        {"type": "transfer_status", "code": 202, "final": False},
        {"type": "dtmf_received", "digit": "7", "method": "rfc2833"},
        {"type": "transfer_refused", "to": "sip:0900@evil", "code": 603},
        {"type": "ringing", "code": 180},
        {
            "type": "done",
            "connected": False,
            "code": 0,
            "reason": "time limit",
            "duration_s": 0.0,
            "recorded_s": 0.0,
            "heard_ms": [],
        },
    ]
    assert list(passed[0]) == ["type", "t", "to"]  # the order the old dicts had
