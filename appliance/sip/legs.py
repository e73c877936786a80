"""What the switchboard keeps per conversation: its legs, its session, its state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from appliance.audio.pcm import Samples
from appliance.events import BoxEvent
from appliance.sip.calls import SipCall
from appliance.sip.media import LinePort

Report = Callable[[BoxEvent], None]  # the daemon's: stamps the event, sends its wire form
LIVE = ("null", "calling", "incoming", "early", "connecting", "confirmed")


class CallHandler(Protocol):
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
class CallLegs:
    """One conversation's legs: the caller's, and a consultation leg during a warm transfer."""

    meta: CallMeta
    call: SipCall
    session: CallHandler | None = None
    port: LinePort | None = None
    consult: SipCall | None = None
    consult_port: LinePort | None = None
    human: str = ""
    bridged: bool = False  # the session no longer owns the caller (transferred)
    replaces: bool = False  # the caller's phone takes an attended transfer (its INVITE says so)
    finish: str = ""  # how a warm transfer connects: "" (not yet), referring, attended, bridge
    stats: dict[str, Any] = field(default_factory=dict)  # reported with call_ended
    clip: list[Samples] = field(default_factory=list)  # the person's briefing (warm transfer)
