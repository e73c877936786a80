"""Reading call events whatever their shape: a dict with "type" and "t_ms" (the loop's old
form), or a typed event object (`.type`, attributes; a `to_wire()` when it has one, whose dict
is read like the old form: "from"/"to" of a handoff, the conversation event's type for a
forwarded conversation step). Tests read events through these helpers only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_MISSING = object()


def _wire(ev: Any) -> dict[str, Any] | None:
    if isinstance(ev, dict):
        return ev
    to_wire = getattr(ev, "to_wire", None)
    if callable(to_wire):
        out = to_wire()
        if isinstance(out, dict):
            return out
    return None


def kind(ev: Any) -> str:
    """The event's type name ("audio_start", "barge_in", "handoff", ...)."""
    d = _wire(ev)
    return str(d["type"]) if d is not None else str(ev.type)


def field(ev: Any, name: str, default: Any = _MISSING) -> Any:
    """One field of an event (a key of its dict or wire form, else an attribute); `default`
    when it has none (a KeyError without a default)."""
    d = _wire(ev)
    value = d.get(name, _MISSING) if d is not None else _MISSING
    if value is _MISSING and not isinstance(ev, dict):
        value = getattr(ev, name, _MISSING)
    if value is _MISSING:
        if default is _MISSING:
            raise KeyError(f"{kind(ev)} event has no field {name!r}")
        return default
    return value


def kinds(events: Iterable[Any], only: Iterable[str] | None = None) -> list[str]:
    """The types of `events` in order, only those in `only` when given."""
    keep = None if only is None else set(only)
    return [k for k in map(kind, events) if keep is None or k in keep]


def timeline(
    events: Iterable[Any], only: Iterable[str] | None = None, *, detail: str | None = None
) -> list[tuple[Any, ...]]:
    """(t_ms, type) of `events` in order, with the field `detail` when given (None where an
    event has none): the stepped clock's snapshot of a call."""
    keep = None if only is None else set(only)
    out: list[tuple[Any, ...]] = []
    for e in events:
        k = kind(e)
        if keep is None or k in keep:
            row: tuple[Any, ...] = (int(field(e, "t_ms")), k)
            out.append(row if detail is None else (*row, field(e, detail, None)))
    return out


def first(events: Iterable[Any], etype: str, /, **match: Any) -> Any:
    """The first event of type `etype` whose fields equal `match`."""
    seen = list(events)
    for e in seen:
        if kind(e) == etype and all(field(e, k, None) == v for k, v in match.items()):
            return e
    raise AssertionError(f"no {etype} {match} in {kinds(seen)}")
