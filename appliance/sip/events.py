"""The SIP room's events: what the switchboard, the transfer desk, the registrations and the
endpoint report to the daemon (`Report`), one frozen dataclass per wire type.

No pjsua2 here: the daemon, the journal, the TUI and the tests read these without the SIP stack.
A field that defaults to None is left out of the wire form while it is None (BoxEvent.to_wire),
so one class covers a wire type whose producers send different keys (call_ended of the caller's
leg and of the person's, call_rejected by the guard and by pjsua itself). The test phone's events
are in appliance/sip/phone_events.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from appliance.events import BoxEvent

RegState = Literal["registered", "unregistered", "auth_failed", "failed"]
DtmfMethod = Literal["rfc2833", "info"]
TransferMode = Literal["warm", "blind"]
TransferFinish = Literal["blind", "attended", "bridge"]


@dataclass(frozen=True, kw_only=True)
class CallRejected(BoxEvent):
    """A call turned away before it had a key: by the caller guard (403, with `source`) or by
    pjsua itself (e.g. 486 over its compiled call limit; no `source`)."""

    type: ClassVar[str] = "call_rejected"
    source: str | None = None
    caller: str
    code: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class CallIncoming(BoxEvent):
    type: ClassVar[str] = "call_incoming"
    caller: str
    source: str
    assistant: str


@dataclass(frozen=True, kw_only=True)
class CallOverflow(BoxEvent):
    """A call beyond sip.max_calls: busy (`code` 486) or referred to a person (`to`)."""

    type: ClassVar[str] = "call_overflow"
    caller: str
    source: str
    action: Literal["busy", "transfer"]
    code: int | None = None
    to: str | None = None


@dataclass(frozen=True, kw_only=True)
class TransferRefused(BoxEvent):
    """A REFER the box declined (603): from a call's far end (with the call's key, its source
    and caller, "" when the leg has no box) or from an overflow call (no key)."""

    type: ClassVar[str] = "transfer_refused"
    to: str
    source: str
    caller: str
    code: int


@dataclass(frozen=True, kw_only=True)
class CallFailed(BoxEvent):
    """A call that could not go on: no session for it, or an outbound call not placed."""

    type: ClassVar[str] = "error"
    message: str


@dataclass(frozen=True, kw_only=True)
class CallDialing(BoxEvent):
    type: ClassVar[str] = "call_dialing"
    uri: str
    assistant: str


@dataclass(frozen=True, kw_only=True)
class Dtmf(BoxEvent):
    type: ClassVar[str] = "dtmf"
    digit: str
    method: DtmfMethod


@dataclass(frozen=True, kw_only=True)
class CallConnected(BoxEvent):
    type: ClassVar[str] = "call_connected"
    remote: str


@dataclass(frozen=True, kw_only=True)
class CallEnded(BoxEvent):
    """A leg of a call ended: the caller's (with its `stats`: RTP counters, media port figures)
    or the person's during or after a transfer (`leg` "human", no stats)."""

    type: ClassVar[str] = "call_ended"
    leg: Literal["human"] | None = None
    code: int
    reason: str
    duration_s: float
    stats: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class TransferStart(BoxEvent):
    type: ClassVar[str] = "transfer_start"
    human: str
    uri: str
    mode: TransferMode


@dataclass(frozen=True, kw_only=True)
class TransferFailed(BoxEvent):
    type: ClassVar[str] = "transfer_failed"
    human: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class TransferRefer(BoxEvent):
    """A warm transfer's REFER with Replaces went to the caller's phone."""

    type: ClassVar[str] = "transfer_refer"
    human: str


@dataclass(frozen=True, kw_only=True)
class TransferDone(BoxEvent):
    """The caller is the person's: `why` says why a warm transfer was bridged (when it was)."""

    type: ClassVar[str] = "transfer_done"
    human: str
    mode: TransferFinish
    why: str | None = None


@dataclass(frozen=True, kw_only=True)
class RegistrationResult(BoxEvent):
    """One REGISTER's answer: after a failure `retry_in_s`, after a success `refresh` (whether
    the account was registered already)."""

    type: ClassVar[str] = "registration"
    account: str
    state: RegState
    code: int
    reason: str
    retry_in_s: float | None = None
    refresh: bool | None = None


SIP_EVENTS: tuple[type[BoxEvent], ...] = (
    CallRejected,
    CallIncoming,
    CallOverflow,
    TransferRefused,
    CallFailed,
    CallDialing,
    Dtmf,
    CallConnected,
    CallEnded,
    TransferStart,
    TransferFailed,
    TransferRefer,
    TransferDone,
    RegistrationResult,
)
