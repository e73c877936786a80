"""The daemon's own events: ready, a config reload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from appliance.events import BoxEvent


@dataclass(frozen=True, kw_only=True)
class Ready(BoxEvent):
    """SIP is up (and the control socket): the box answers calls."""

    type: ClassVar[str] = "ready"
    address: str
    peer_mode: bool
    accounts: list[str]
    max_calls: int  # call slots, transfer legs included
    control: str | None  # always on the wire (no default: null means no control socket)
    store: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class ConfigReloaded(BoxEvent):
    type: ClassVar[str] = "config_reloaded"
    generation: int
    restart_needed: list[str]


DAEMON_EVENTS: tuple[type[BoxEvent], ...] = (Ready, ConfigReloaded)
