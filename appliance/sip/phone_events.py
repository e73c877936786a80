"""The test phone's events (appliance/sip/phone.py: `voicebox call --wav`, `voicebox extension`),
one frozen dataclass per wire type. Each carries `t`, seconds since the phone was made (not
"wall"); its wire form is what `voicebox call --json` prints, one object a line.

No pjsua2 here (see appliance/sip/events.py for the box's own SIP events).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from appliance.events import BoxEvent, wire_name
from appliance.sip.events import DtmfMethod

Spans = list[tuple[int, int]]  # (start_ms, end_ms) of what a leg heard (phone.heard_spans)


@dataclass(frozen=True, kw_only=True)
class PhoneEvent(BoxEvent):
    """Base: an event of the test phone at `t` seconds since it started."""

    t: float


@dataclass(frozen=True, kw_only=True)
class PhoneCalling(PhoneEvent):
    type: ClassVar[str] = "calling"
    uri: str


@dataclass(frozen=True, kw_only=True)
class PhoneError(PhoneEvent):
    type: ClassVar[str] = "error"
    message: str


@dataclass(frozen=True, kw_only=True)
class PhoneRegistration(PhoneEvent):
    type: ClassVar[str] = "registration"
    code: int
    reason: str
    ok: bool


@dataclass(frozen=True, kw_only=True)
class PhoneIncoming(PhoneEvent):
    """A call to the test extension: its From header and the box's summary header."""

    type: ClassVar[str] = "incoming"
    source: str
    from_: str = field(metadata=wire_name("from"))
    summary: str


@dataclass(frozen=True, kw_only=True)
class PhoneTransferRequest(PhoneEvent):
    """A REFER the phone follows (it calls `to`)."""

    type: ClassVar[str] = "transfer_request"
    to: str


@dataclass(frozen=True, kw_only=True)
class PhoneTransferRefused(PhoneEvent):
    type: ClassVar[str] = "transfer_refused"
    to: str
    code: int


@dataclass(frozen=True, kw_only=True)
class PhoneReplaced(PhoneEvent):
    """An INVITE with Replaces took over leg `leg`; the new call is leg `by`."""

    type: ClassVar[str] = "replaced"
    leg: int
    by: int


@dataclass(frozen=True, kw_only=True)
class PhoneRedirected(PhoneEvent):
    type: ClassVar[str] = "redirected"
    to: str


@dataclass(frozen=True, kw_only=True)
class PhoneTransferStatus(PhoneEvent):
    type: ClassVar[str] = "transfer_status"
    code: int
    final: bool


@dataclass(frozen=True, kw_only=True)
class PhoneDtmfReceived(PhoneEvent):
    type: ClassVar[str] = "dtmf_received"
    digit: str
    method: DtmfMethod


@dataclass(frozen=True, kw_only=True)
class PhoneRinging(PhoneEvent):
    type: ClassVar[str] = "ringing"
    code: int


@dataclass(frozen=True, kw_only=True)
class PhoneConnected(PhoneEvent):
    type: ClassVar[str] = "connected"
    remote: str
    leg: int


@dataclass(frozen=True, kw_only=True)
class PhoneDisconnected(PhoneEvent):
    """A leg ended: what it heard (`heard_ms`) and its RTP counters when it had a stream."""

    type: ClassVar[str] = "disconnected"
    code: int
    reason: str
    duration_s: float
    leg: int
    heard_ms: Spans
    rtp: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class PhoneMediaStats(PhoneEvent):
    """A leg's media port figures (LinePort.stats) once it ended."""

    type: ClassVar[str] = "media_stats"
    leg: int
    rx: dict[str, Any]
    tx: dict[str, Any]
    rx_audio: int
    errors: int


@dataclass(frozen=True, kw_only=True)
class PhoneDtmfSent(PhoneEvent):
    type: ClassVar[str] = "dtmf_sent"
    digits: str
    method: DtmfMethod


@dataclass(frozen=True, kw_only=True)
class PhoneWavEnd(PhoneEvent):
    type: ClassVar[str] = "wav_end"
    played_s: float


@dataclass(frozen=True, kw_only=True)
class PhoneHangup(PhoneEvent):
    type: ClassVar[str] = "hangup"
    reason: str


@dataclass(frozen=True, kw_only=True)
class PhoneDone(PhoneEvent):
    """The test caller's call is over (all its legs): the last event of `voicebox call`."""

    type: ClassVar[str] = "done"
    connected: bool
    code: int
    reason: str
    duration_s: float
    recorded_s: float
    heard_ms: Spans


@dataclass(frozen=True, kw_only=True)
class PhoneCallDone(PhoneDone):
    """A call to the test extension is over (the extension goes on answering)."""

    type: ClassVar[str] = "call_done"


PHONE_EVENTS: tuple[type[PhoneEvent], ...] = (
    PhoneCalling,
    PhoneError,
    PhoneRegistration,
    PhoneIncoming,
    PhoneTransferRequest,
    PhoneTransferRefused,
    PhoneReplaced,
    PhoneRedirected,
    PhoneTransferStatus,
    PhoneDtmfReceived,
    PhoneRinging,
    PhoneConnected,
    PhoneDisconnected,
    PhoneMediaStats,
    PhoneDtmfSent,
    PhoneWavEnd,
    PhoneHangup,
    PhoneDone,
    PhoneCallDone,
)
