"""Reminder calls in the store: one row per appointment the box called (or tried to call)
about, so an appointment is reminded once, a phone nobody answers is tried again later, and the
result (kept, moved, cancelled, ...) is on record. The SQL lives here once."""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.store.call_log import rows

SCHEMA = """
CREATE TABLE IF NOT EXISTS reminders (
    uid TEXT PRIMARY KEY, kind TEXT NOT NULL, who TEXT NOT NULL, phone TEXT NOT NULL,
    starts_at TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0, conversation_id TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '', updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS reminders_conv ON reminders(conversation_id);
"""
FINAL = ("kept", "moved", "cancelled", "no decision", "failed", "gave up")
"""States after which an appointment is not called about again."""


def get(db: sqlite3.Connection, uid: str) -> dict[str, Any] | None:
    found = rows(db, "SELECT * FROM reminders WHERE uid=?", (uid,))
    return found[0] if found else None


def calling(
    db: sqlite3.Connection, uid: str, *, kind: str, who: str, phone: str, starts_at: str, t: float
) -> int:
    """A reminder call is being placed: the row made or its attempts counted; the attempt's
    number."""
    db.execute(
        "INSERT INTO reminders(uid, kind, who, phone, starts_at, state, attempts, updated_at) "
        "VALUES (?, ?, ?, ?, ?, 'calling', 1, ?) ON CONFLICT(uid) DO UPDATE SET "
        "state='calling', attempts=attempts+1, starts_at=excluded.starts_at, updated_at=?",
        (uid, kind, who, phone, starts_at, t, t),
    )
    (n,) = db.execute("SELECT attempts FROM reminders WHERE uid=?", (uid,)).fetchone()
    return int(n)


def finished(
    db: sqlite3.Connection,
    uid: str,
    *,
    state: str,
    conversation_id: str,
    detail: str,
    next_at: float,
    refund: bool,
    t: float,
) -> None:
    """A reminder call's result; `refund`: it did not count as an attempt (the box was full)."""
    db.execute(
        "UPDATE reminders SET state=?, conversation_id=?, detail=?, next_at=?, updated_at=?, "
        "attempts=MAX(0, attempts-?) WHERE uid=?",
        (state, conversation_id, detail, next_at, t, int(refund), uid),
    )


def listing(db: sqlite3.Connection, *, since: float | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM reminders WHERE updated_at >= ? ORDER BY updated_at DESC"
    return rows(db, sql, (since or 0.0,))
