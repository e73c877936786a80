"""One small dataclass per event. Events go to the store, the log and the control socket.

Two families: the conversation's events (`Event`: below; the store records them) and the
running box's stream (`BoxEvent`: the call loop's in appliance/call_events.py, SIP's in
appliance/sip/events.py, the daemon's in appliance/daemon/events.py; appliance/event_stream.py
lists them all). A `BoxEvent` becomes a dict only where it leaves the process (`to_wire`: the
`--json` printers, the journal, the control socket).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, ClassVar, Self


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
class FactsRetrieved(Event):
    """The office facts given to the reply of one turn (their topics, best first)."""

    type: ClassVar[str] = "facts"
    turn: int
    assistant: str
    topics: list[str]
    scores: list[float]


@dataclass
class SentenceBlocked(Event):
    """A sentence of the reply stated what no office fact supports: not spoken, the caller
    heard the deferral instead (`claims`: what was unsupported, e.g. "number 10"), or the office
    fact the fact judge said answers them (`instead`: its topic; "" for the deferral)."""

    type: ClassVar[str] = "blocked"
    turn: int
    assistant: str
    sentence: str
    claims: list[str]
    instead: str = ""


@dataclass
class MessageTaken(Event):
    """A request for the team (take_message), recorded or updated as the caller adds details."""

    type: ClassVar[str] = "message"
    assistant: str
    who: str
    callback: str
    what: str


@dataclass
class ToolUsed(Event):
    """An integrated tool ran (or was refused) for the caller: `tool` e.g. calendar.book,
    `result` ok | conflict | failed | invalid | not found; a calendar write carries the
    appointment (ISO start and end in the office's zone, the server's uid)."""

    type: ClassVar[str] = "tool"
    turn: int
    assistant: str
    tool: str
    result: str
    args: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    kind: str = ""
    start: str = ""
    end: str = ""
    uid: str = ""
    who: str = ""


@dataclass
class QuestionAnswered(Event):
    """The caller asked and the reply answered from the office facts (`topics`): nothing of it
    was kept back as unsupported, and it did not defer ("I don't have that information")."""

    type: ClassVar[str] = "question_answered"
    turn: int
    assistant: str
    topics: list[str]


@dataclass
class ConversationEnded(Event):
    type: ClassVar[str] = "conversation_ended"
    reason: str
    assistant: str
    turns: int


def wire_name(name: str) -> Any:
    """Field metadata: the key a field has on the wire (`from` is a Python keyword)."""
    return {"wire": name}


@dataclass(frozen=True, kw_only=True)
class BoxEvent:
    """Base of the box's event stream. Its wire form is one flat JSON object: "type", the
    fields (a field that defaults to None is left out while it is None), "call" when the event
    belongs to a call and "wall" (epoch seconds) once it is reported."""

    type: ClassVar[str] = "box_event"
    call: str | None = None
    wall: float | None = None

    def wire_type(self) -> str:
        return self.type

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.wire_type()}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue
            out[f.metadata.get("wire", f.name)] = value
        return out

    def for_call(self, key: str) -> Self:
        return replace(self, call=key)

    def stamped(self) -> Self:
        """This event with its wall-clock time (the time it is reported, unless it has one)."""
        return self if self.wall is not None else replace(self, wall=round(time.time(), 3))


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
        FactsRetrieved,
        SentenceBlocked,
        MessageTaken,
        ToolUsed,
        QuestionAnswered,
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
