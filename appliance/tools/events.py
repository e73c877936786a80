"""The tools' events in the box's stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from appliance.events import BoxEvent


@dataclass(frozen=True, kw_only=True)
class HumanRequested(BoxEvent):
    """A caller asked for a person (in words: "asked"; on the keypad: "keypad")."""

    type: ClassVar[str] = "human_requested"
    human: str
    why: str


TOOL_EVENTS: tuple[type[BoxEvent], ...] = (HumanRequested,)
