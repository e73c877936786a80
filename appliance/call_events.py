"""The call loop's events (appliance/call.py): what the caller said and heard, and when.

Each carries `t_ms`, the call time (20 ms a frame). The conversation's routing, handoff,
slots, reply and cut-off events travel in the call's stream as `ConversationStep`, whose wire
form is the conversation event's own fields ("from"/"to" for a handoff's assistants).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from appliance.events import BoxEvent, Event


@dataclass(frozen=True, kw_only=True)
class CallEvent(BoxEvent):
    """Base: an event of one call's loop at call time `t_ms`."""

    t_ms: int


@dataclass(frozen=True, kw_only=True)
class CallStart(CallEvent):
    type: ClassVar[str] = "call_start"
    assistant: str
    conversation: str


@dataclass(frozen=True, kw_only=True)
class SpeechStart(CallEvent):
    type: ClassVar[str] = "speech_start"


@dataclass(frozen=True, kw_only=True)
class Partial(CallEvent):
    """A streaming recogniser's partial result (Vosk)."""

    type: ClassVar[str] = "partial"
    text: str


@dataclass(frozen=True, kw_only=True)
class SpeechEnd(CallEvent):
    type: ClassVar[str] = "speech_end"
    speech_ms: int


@dataclass(frozen=True, kw_only=True)
class BargeIn(CallEvent):
    """The caller spoke over the box: its audio stopped after `heard_ms`."""

    type: ClassVar[str] = "barge_in"
    assistant: str
    heard_ms: int


@dataclass(frozen=True, kw_only=True)
class Filler(CallEvent):
    """ "One moment, please": the caller waited `waited_ms` for an answer."""

    type: ClassVar[str] = "filler"
    waited_ms: int


@dataclass(frozen=True, kw_only=True)
class Silence(CallEvent):
    type: ClassVar[str] = "silence"
    action: str  # reprompt | goodbye
    silent_ms: int


@dataclass(frozen=True, kw_only=True)
class TurnFailed(CallEvent):
    type: ClassVar[str] = "error"
    message: str


@dataclass(frozen=True, kw_only=True)
class Held(CallEvent):
    """The caller went on talking: this utterance joins the next one."""

    type: ClassVar[str] = "held"
    text: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Ignored(CallEvent):
    """An utterance that makes no turn (noise, too short, low confidence, a lone filler)."""

    type: ClassVar[str] = "ignored"
    text: str
    reason: str
    confidence: float


@dataclass(frozen=True, kw_only=True)
class Heard(CallEvent):
    """A recognised utterance that makes a turn."""

    type: ClassVar[str] = "utterance"
    text: str
    confidence: float
    asr_ms: float
    speculative: bool


@dataclass(frozen=True, kw_only=True)
class FirstSentence(CallEvent):
    type: ClassVar[str] = "first_sentence"
    turn: int
    text: str


@dataclass(frozen=True, kw_only=True)
class ReplyEnd(CallEvent):
    type: ClassVar[str] = "reply_end"
    turn: int
    cancelled: bool
    chars: int


@dataclass(frozen=True, kw_only=True)
class TurnDone(CallEvent):
    type: ClassVar[str] = "turn_done"
    turn: int
    assistant: str
    timings: dict[str, float]


@dataclass(frozen=True, kw_only=True)
class AudioStart(CallEvent):
    """The first sample of a piece of the box's audio went out."""

    type: ClassVar[str] = "audio_start"
    kind: str  # greeting | announcement | reply | phrase
    assistant: str
    turn: int
    text: str


@dataclass(frozen=True, kw_only=True)
class CallEnd(CallEvent):
    """The call loop is done with the call (its conversation ended). Not SIP's `call_ended`
    (sip/events.py CallEnded), which says the SIP call itself is gone, with its code."""

    type: ClassVar[str] = "call_end"
    reason: str
    assistant: str
    turns: int


# the conversation events a call's stream carries
FORWARDED = frozenset({"routing", "handoff", "slots", "reply", "cut_off", "facts", "blocked",
                       "tool", "question_answered"})  # fmt: skip
_OWN = ("type", "conversation_id", "t")
_RENAMED = {"from_assistant": "from", "to_assistant": "to"}


@dataclass(frozen=True, kw_only=True)
class ConversationStep(CallEvent):
    """A conversation event (routing, handoff, slots, reply, cut_off, facts, blocked, tool,
    question_answered) in the call's stream."""

    type: ClassVar[str] = "conversation_step"
    event: Event = field(metadata={"flatten": True})

    def wire_type(self) -> str:
        return self.event.type

    def to_wire(self) -> dict[str, Any]:
        out = super().to_wire()
        del out["event"]
        inner = {k: v for k, v in self.event.to_dict().items() if k not in _OWN}
        out.update({_RENAMED.get(k, k): v for k, v in inner.items()})
        return out


CALL_EVENTS: tuple[type[CallEvent], ...] = (
    CallStart,
    SpeechStart,
    Partial,
    SpeechEnd,
    BargeIn,
    Filler,
    Silence,
    TurnFailed,
    Held,
    Ignored,
    Heard,
    FirstSentence,
    ReplyEnd,
    TurnDone,
    AudioStart,
    CallEnd,
    ConversationStep,
)
