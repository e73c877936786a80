"""The box's event stream as a whole: every event type it can carry, and one readable line
per event for the printers (`voicebox simulate`/`console`, the daemon's journal, the test phone).

The printers work on the wire form (`BoxEvent.to_wire()`): what they print is what left the
process, after the journal's redaction of the caller's words.
"""

from __future__ import annotations

import importlib
from typing import Any

from appliance.events import BoxEvent

# the modules that define the stream's events, one per domain
DOMAINS = (
    "appliance.call_events",
    "appliance.sip.events",
    "appliance.sip.phone_events",
    "appliance.tools.events",
    "appliance.daemon.events",
)
QUIET = frozenset({"partial", "audio_start", "speech_start", "speech_end", "first_sentence"})
_TIMES = ("type", "t_ms", "t", "wall", "call")


def event_classes() -> list[type[BoxEvent]]:
    """Every concrete event class of the stream (imports the domain modules; none loads a
    model or pjsua2)."""
    for name in DOMAINS:
        importlib.import_module(name)
    found: list[type[BoxEvent]] = []
    todo = list(BoxEvent.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "type" in cls.__dict__:  # a kind of its own, not a base such as CallEvent
            found.append(cls)
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


def describe(ev: dict[str, Any]) -> str | None:
    """One readable line for a wire event ("utterance c1: hello"), None for the quiet kinds
    (partial results, audio starts: the --json output has them)."""
    kind = str(ev.get("type", "?"))
    if kind in QUIET:
        return None
    head = f"{kind} {ev['call']}" if ev.get("call") else kind
    if kind == "utterance":
        body = str(ev.get("text", ""))
    elif kind == "reply":
        body = f"{ev.get('assistant', '')}: {ev.get('text', '')}"
    elif kind == "handoff":
        body = f"{ev.get('from', '')} -> {ev.get('to', '')} ({ev.get('reason', '')})"
    else:
        body = " ".join(f"{k}={v}" for k, v in ev.items() if k not in _TIMES)
    return f"{head}: {body}" if body else head
