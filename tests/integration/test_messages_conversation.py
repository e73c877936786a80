"""A caller leaves name, need and number on the text channel: one message row in a real SQLite
file, written as soon as the need is known, and shown by the TUI's call log.

The engine is real (SmolLM2: routing, replies); the slot extractor is scripted, so the test is
about when and what the box records, not about the small model's extraction."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from appliance.store import Store
from appliance.tools.messages import PROMISE
from tui.calls_pane import CallLog, Search, message_text, transcript

SLOTS = {
    "Hi, my name is Ann Lee.": {"name": "Ann Lee"},
    "Our printer only prints blank pages.": {"need": "printer prints blank pages"},
    "Please call me back on 555 0142.": {"callback": "5550142"},
}


def test_name_need_and_number_make_exactly_one_message(
    smol_engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        smol_engine.slots, "extract", lambda text, assistant="": dict(SLOTS.get(text, {}))
    )
    db = tmp_path / "voicebox.db"
    store = Store(db)
    t0 = time.time()
    conv = smol_engine.new_conversation(
        channel="text", listeners=[store.record], caller='"Ann" <sip:201@127.0.0.1>'
    )
    conv.start()
    r1 = conv.handle("Hi, my name is Ann Lee.")
    assert r1.assistant == "frontdesk"  # the front desk has no take_message in the starter team
    r2 = conv.handle("Our printer only prints blank pages.")
    took = r2.assistant
    assert "take_message" in smol_engine.cfg.assistant(took).tools
    # the call could drop now: the request is already on file, with the SIP caller id as number
    early = store.messages(conversation_id=conv.id)
    assert len(early) == 1
    assert (early[0]["who"], early[0]["callback"], early[0]["what"]) == (
        "Ann Lee",
        "201",
        "printer prints blank pages",
    )
    conv.handle("Please call me back on 555 0142.")
    conv.end("caller left the chat")

    rows = store.query("SELECT * FROM messages")
    assert len(rows) == 1
    msg = rows[0]
    # a callback promise in the first reply would have taken the message at the front desk
    expected = "frontdesk" if PROMISE.search(r1.reply) else took
    assert (msg["conversation_id"], msg["assistant"]) == (conv.id, expected)
    assert (msg["who"], msg["callback"], msg["what"]) == (
        "Ann Lee",
        "5550142",
        "printer prints blank pages",
    )
    assert t0 <= msg["created_at"] <= msg["updated_at"] <= time.time()
    store.close()

    # the TUI reads the same file read-only: the call log row and the transcript show it
    log = CallLog(db)
    (row,) = log.search(Search())
    assert row["id"] == conv.id and row["has_message"]
    shown = log.conversation(conv.id)
    assert shown["message"]["who"] == "Ann Lee"
    last = transcript(shown)[-1].plain
    assert last == message_text(shown["message"])
    assert "Ann Lee, call back 5550142: printer prints blank pages" in last
