"""Errors: one base class with a stable code, one subclass per stage."""

from __future__ import annotations


class VoiceboxError(Exception):
    """An error a person can act on: a short stable code and a one-line message."""

    code = "voicebox"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ConfigError(VoiceboxError):
    """The configuration cannot be loaded or is invalid."""

    code = "config"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class ModelError(VoiceboxError):
    """A model is missing, corrupt, or cannot be installed."""

    code = "model"


class BrainError(VoiceboxError):
    """The shared LLM failed (load, decode, state restore, adapter)."""

    code = "brain"


class RouterError(VoiceboxError):
    """The handoff decision could not be made."""

    code = "router"


class StoreError(VoiceboxError):
    """The SQLite store cannot be opened or written."""

    code = "store"


class FlowError(VoiceboxError):
    """A flow-test file is malformed."""

    code = "flows"


class AudioError(VoiceboxError):
    """Audio in or out cannot be used: a bad WAV, no sound device, a wrong rate."""

    code = "audio"


class SpeechError(VoiceboxError):
    """Speech recognition or synthesis failed to load or run."""

    code = "speech"


class SipError(VoiceboxError):
    """The SIP stack cannot start, register, call or transfer."""

    code = "sip"
