"""One small dataclass per event. Events go to the store, the log and the control socket."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass
class Event:
    """Base: every event belongs to a conversation and has a wall-clock time."""

    type: ClassVar[str] = "event"
    conversation_id: str
    t: float = field(default_factory=time.time, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass
class ConversationStarted(Event):
    type: ClassVar[str] = "conversation_started"
    channel: str
    assistant: str
    caller: str = ""


@dataclass
class CallerUtterance(Event):
    type: ClassVar[str] = "utterance"
    turn: int
    assistant: str
    text: str


@dataclass
class RoutingDecided(Event):
    """The router's verdict on one caller utterance, stay or handoff, with its evidence."""

    type: ClassVar[str] = "routing"
    turn: int
    assistant: str
    outcome: str  # "stay" | "handoff" | "refused"
    target: str | None
    path: str  # "fast" | "llm" | "guard"
    reason: str
    scores: dict[str, float]
    latency_ms: float


@dataclass
class HandoffStarted(Event):
    type: ClassVar[str] = "handoff"
    turn: int
    from_assistant: str
    to_assistant: str
    announcement: str
    reason: str
    path: str
    scores: dict[str, float]
    history: str


@dataclass
class HandoffCompleted(Event):
    """The target profile is active: its KV state restored, adapter set, carry-over fed."""

    type: ClassVar[str] = "handoff_completed"
    turn: int
    assistant: str
    switch_ms: float
    carryover_tokens: int


@dataclass
class SlotsUpdated(Event):
    type: ClassVar[str] = "slots"
    turn: int
    slots: dict[str, str]
    changed: list[str]


@dataclass
class AssistantReply(Event):
    type: ClassVar[str] = "reply"
    turn: int
    assistant: str
    text: str
    first_token_ms: float
    total_ms: float
    cut_off: bool = False


@dataclass
class ReplyCutOff(Event):
    """The caller spoke over a reply (barge-in): playback stopped after `heard`."""

    type: ClassVar[str] = "cut_off"
    turn: int
    assistant: str
    heard: str


@dataclass
class MessageTaken(Event):
    """A request for the team (take_message), recorded or updated as the caller adds details."""

    type: ClassVar[str] = "message"
    assistant: str
    who: str
    callback: str
    what: str


@dataclass
class ConversationEnded(Event):
    type: ClassVar[str] = "conversation_ended"
    reason: str
    assistant: str
    turns: int


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        ConversationStarted,
        CallerUtterance,
        RoutingDecided,
        HandoffStarted,
        HandoffCompleted,
        SlotsUpdated,
        AssistantReply,
        ReplyCutOff,
        MessageTaken,
        ConversationEnded,
    )
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its dict form (the inverse of `Event.to_dict`)."""
    payload = dict(data)
    kind = payload.pop("type")
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}")
    return cls(**payload)
