"""Stand-ins for each stage of a call (recogniser, voice, embedder, brain) and a driver for the
call loop's stepped clock: an `Engine` and a `CallLoop` that need no model file."""

from __future__ import annotations

from .asr import Heard, ScriptedAsr, ScriptedStream
from .audio import frames, noise, silent_frames, speech_frames, tone
from .brain import FakePrefixes, FakeSession, Reply, ReplyCall, ScriptedBrain
from .embedder import HashingEmbedder
from .engine import fake_engine
from .events import field, first, kind, kinds, timeline
from .stepper import SteppedCall
from .voice import FakeVoice, fake_speech

__all__ = [
    "FakePrefixes",
    "FakeSession",
    "FakeVoice",
    "HashingEmbedder",
    "Heard",
    "Reply",
    "ReplyCall",
    "ScriptedAsr",
    "ScriptedBrain",
    "ScriptedStream",
    "SteppedCall",
    "fake_engine",
    "fake_speech",
    "field",
    "first",
    "frames",
    "kind",
    "kinds",
    "noise",
    "silent_frames",
    "speech_frames",
    "timeline",
    "tone",
]
