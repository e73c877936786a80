"""Every event type the README documents is a dataclass of the box's stream, and its wire form
has the keys the README names for it (scripts outside the project read these JSON lines)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from appliance import events as conversation_events
from appliance.call_events import FORWARDED, ConversationStep
from appliance.event_stream import describe, event_classes
from appliance.events import BoxEvent

README = Path(__file__).resolve().parents[2] / "README.md"
_REGION = re.compile(r"<!-- events: [^>]*-->(.*?)<!-- /events -->", re.S)
_ITEM = re.compile(r"`([a-z_]+)`(?:\s*\{([^}]*)\})?")


def documented() -> dict[str, set[str]]:
    """type -> the keys the README names for it, from its marked event lists."""
    out: dict[str, set[str]] = {}
    for region in _REGION.findall(README.read_text(encoding="utf-8")):
        for name, keys in _ITEM.findall(region):
            named = {
                re.split(r"[:\s]", item.strip())[0]
                for item in keys.split(",")
                if item.strip() and item.strip() != "..." and not item.strip().startswith(".")
            }
            # an item that only continues the value list of the one before ("a|b") has no key
            out.setdefault(name, set()).update(k for k in named if re.fullmatch(r"[a-z_]+", k))
    return out


def _sample(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _sample(next(a for a in typing.get_args(tp) if a is not type(None)))
    if origin is typing.Literal:
        return typing.get_args(tp)[0]
    if tp is str or tp is Any:
        return "x"
    if tp is bool:
        return True
    if tp is int:
        return 1
    if tp is float:
        return 1.5
    if origin is dict or tp is dict:
        return {}
    if origin is list or tp is list:
        return []
    if origin is tuple:
        return ()
    raise TypeError(f"no sample for {tp!r}")


def build(cls: type[Any]) -> Any:
    """An instance with every field set (optional ones too)."""
    hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
    kwargs = {f.name: _sample(hints[f.name]) for f in dataclasses.fields(cls) if f.init}
    return cls(**kwargs)


def wire_samples() -> dict[str, dict[str, Any]]:
    """type -> the wire form of a fully set event of that type."""
    out: dict[str, dict[str, Any]] = {}
    for cls in event_classes():
        if cls is ConversationStep:
            for kind in FORWARDED:
                inner = build(conversation_events.EVENT_TYPES[kind])
                out[kind] = ConversationStep(t_ms=1, event=inner).to_wire()
            continue
        wire = build(cls).to_wire()
        out.setdefault(wire["type"], {}).update(wire)  # one type may have two classes
    return out


def test_the_readme_lists_are_found() -> None:
    docs = documented()
    assert {"call_start", "utterance", "handoff", "call_end", "ready", "call_ended"} <= set(docs)
    assert {"calling", "done", "transfer_refer", "config_reloaded"} <= set(docs)
    assert docs["utterance"] == {"text", "confidence", "asr_ms", "speculative"}
    assert docs["handoff"] == {"from", "to", "announcement", "reason", "path"}
    assert len(docs) >= 40


@pytest.mark.parametrize("kind", sorted(documented()))
def test_every_documented_type_is_a_dataclass_with_its_documented_keys(kind: str) -> None:
    samples = wire_samples()
    assert kind in samples, f"the README documents {kind!r}; no event class produces it"
    missing = documented()[kind] - set(samples[kind])
    assert not missing, f"{kind}: documented keys {sorted(missing)} not on the wire"


def test_every_event_class_is_a_frozen_dataclass_and_its_wire_form_is_flat_json() -> None:
    import json

    classes = event_classes()
    assert len(classes) >= 30
    for cls in classes:
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls  # type: ignore[attr-defined]
        assert issubclass(cls, BoxEvent)
    for wire in wire_samples().values():
        assert json.loads(json.dumps(wire)) == wire
        assert all(not dataclasses.is_dataclass(v) for v in wire.values()), wire


def test_a_handoff_in_the_call_stream_says_from_and_to() -> None:
    inner = build(conversation_events.HandoffStarted)
    wire = ConversationStep(t_ms=40, event=inner, call="c1").to_wire()
    assert wire["type"] == "handoff" and wire["t_ms"] == 40 and wire["call"] == "c1"
    assert "from" in wire and "to" in wire and "from_assistant" not in wire
    assert "conversation_id" not in wire and "event" not in wire


def test_describe_gives_one_line_and_keeps_quiet_kinds_out() -> None:
    assert describe({"type": "utterance", "t_ms": 20, "call": "c1", "text": "hi"}) == (
        "utterance c1: hi"
    )
    assert describe({"type": "partial", "t_ms": 20, "text": "h"}) is None
    line = describe({"type": "call_end", "t_ms": 20, "reason": "silence", "wall": 1.0})
    assert line == "call_end: reason=silence"


def test_the_event_modules_load_no_model_and_no_pjsua2() -> None:
    code = (
        "import sys; from appliance.event_stream import event_classes; event_classes(); "
        "print([m for m in ('pjsua2', 'llama_cpp', 'onnxruntime', 'vosk') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
