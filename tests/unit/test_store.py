from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from appliance.errors import StoreError
from appliance.events import (
    AssistantReply,
    CallerUtterance,
    ConversationEnded,
    ConversationStarted,
    HandoffStarted,
    RoutingDecided,
    SlotsUpdated,
)
from appliance.store import SCHEMA_VERSION, Store


def _conversation(store: Store, cid: str = "c1") -> None:
    store.record(ConversationStarted(cid, channel="text", assistant="frontdesk"))
    store.record(CallerUtterance(cid, turn=1, assistant="frontdesk", text="How much is premium?"))
    store.record(
        RoutingDecided(
            cid,
            turn=1,
            assistant="frontdesk",
            outcome="handoff",
            target="sales",
            path="fast",
            reason="pricing",
            scores={"sales": 0.99},
            latency_ms=4.2,
        )
    )
    store.record(
        HandoffStarted(
            cid,
            turn=1,
            from_assistant="frontdesk",
            to_assistant="sales",
            announcement="Connecting you.",
            reason="pricing",
            path="fast",
            scores={"sales": 0.99},
            history="full",
        )
    )
    store.record(SlotsUpdated(cid, turn=1, slots={"name": "Ann"}, changed=["name"]))
    store.record(SlotsUpdated(cid, turn=2, slots={"name": "Ann Lee"}, changed=["name"]))
    store.record(
        AssistantReply(
            cid,
            turn=1,
            assistant="sales",
            text="It is 199 dollars.",
            first_token_ms=120.0,
            total_ms=900.0,
        )
    )
    store.record(ConversationEnded(cid, reason="caller hung up", assistant="sales", turns=1))


def test_a_conversation_is_stored_in_a_real_file(tmp_path: Path) -> None:
    path = tmp_path / "vb.db"
    store = Store(path)
    _conversation(store)
    store.close()
    reopened = Store(path)
    conv = reopened.conversation("c1")
    assert conv["final_assistant"] == "sales"
    assert [t["role"] for t in conv["turns_list"]] == ["caller", "assistant"]
    h = conv["handoffs"][0]
    assert (h["from_assistant"], h["to_assistant"], h["path"]) == ("frontdesk", "sales", "fast")
    assert h["latency_ms"] == 4.2
    assert conv["slots"] == {"name": "Ann Lee"}
    assert reopened.schema_version == SCHEMA_VERSION
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "vb.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)
    value = sqlite3.connect(path).execute("SELECT value FROM meta").fetchone()[0]
    assert value == "99"


def test_a_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "vb.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(path)


def test_a_bad_event_does_not_raise_into_the_call(tmp_path: Path) -> None:
    store = Store(tmp_path / "vb.db")
    # a turn for a conversation that was never started violates the foreign key
    store.record(CallerUtterance("ghost", turn=1, assistant="frontdesk", text="hi"))
    assert store.query("SELECT count(*) AS n FROM turns")[0]["n"] == 0
    _conversation(store, "c2")
    assert store.query("SELECT count(*) AS n FROM turns")[0]["n"] == 2
