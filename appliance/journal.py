"""What `voicebox run` prints: its log, the journal under systemd.

Callers' words stay out of it unless the technician turns them on (`logging.transcripts: true`):
by default an event keeps its type, call and conversation ids, assistants, timings, codes and
reasons, and every field that carries what the caller said or what the box replied (utterances,
replies, partial results, announcements, summaries, slot values, messages, callers' display
names) is replaced by its length. The same shapes either way: `--json` consumers find every key.
The control socket (the TUI, for the technician) and the store keep the full events.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from appliance.event_stream import describe

# fields whose values are the caller's words or the box's replies
WORDS = frozenset(
    {
        "text",
        "heard",
        "announcement",
        "history",
        "summary",
        "said",
        "transcript",
        "who",
        "callback",
        "what",
    }
)
_DISPLAY_NAME = re.compile(r'^\s*(?:"(?:[^"\\]|\\.)*"|[^<"]*?)\s*(<[^>]*>)')


def hidden(value: Any) -> str:
    """What the journal shows instead of a caller's words."""
    return f"[{len(str(value))} chars not logged]"


def without_name(caller: str) -> str:
    """`"Anna Berg" <sip:201@pbx>` -> `<sip:201@pbx>`: the number stays, the name goes."""
    m = _DISPLAY_NAME.match(caller)
    return m.group(1) + caller[m.end() :] if m else caller


def redact(ev: dict[str, Any]) -> dict[str, Any]:
    """A copy of the event without the caller's words (see the module's docstring)."""
    out: dict[str, Any] = {}
    for key, value in ev.items():
        if key in WORDS and isinstance(value, str) and value:
            out[key] = hidden(value)
        elif key == "slots" and isinstance(value, dict):
            out[key] = {name: hidden(v) if v else v for name, v in value.items()}
        elif key == "caller" and isinstance(value, str):
            out[key] = without_name(value)
        else:
            out[key] = value
    return out


def printer(as_json: bool, transcripts: Callable[[], bool]) -> Callable[[dict[str, Any]], None]:
    """The daemon's event printer: one JSON object a line (--json) or a readable line, the
    caller's words only while `transcripts()` (the config's logging.transcripts; read for every
    event, so a reload applies at once)."""
    lock = threading.Lock()

    def show(ev: dict[str, Any]) -> None:
        shown = ev if transcripts() else redact(ev)
        if as_json:
            line = json.dumps(shown, ensure_ascii=False, default=str)
        else:
            text = describe(shown)
            if text is None:
                return
            line = f"{time.strftime('%H:%M:%S')} {text}"
        with lock:
            print(line, flush=True)

    return show
