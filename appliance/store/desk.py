"""The office's records in the store: tickets (the `tickets` tool), leads (the `leads` tool)
and the outbox of notices to deliver to the office's systems (mail, webhooks). The SQL lives
here once.

A ticket's number is its row id + 1000 (callers hear four digits from the first one). Opening a
ticket queues one outbox row per configured target in the same transaction, so a notice is
never lost between the two; the row is due `SETTLE_S` after the ticket opened, or at once when
the conversation ends, so the mail carries the name and number the caller gave later. What is
delivered is read from the ticket when it goes out.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from appliance.events import QuestionAnswered, ToolUsed
from appliance.store.call_log import TICKET_BASE, newest, rows

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL UNIQUE REFERENCES conversations(id),
    assistant TEXT NOT NULL, who TEXT NOT NULL, callback TEXT NOT NULL, summary TEXT NOT NULL,
    urgency TEXT NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS tickets_created ON tickets(created_at);
CREATE TABLE IF NOT EXISTS leads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL UNIQUE REFERENCES conversations(id),
    assistant TEXT NOT NULL, who TEXT NOT NULL, company TEXT NOT NULL, callback TEXT NOT NULL,
    need TEXT NOT NULL, budget TEXT NOT NULL, urgency TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS leads_created ON leads(created_at);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref INTEGER NOT NULL, target TEXT NOT NULL,
    conversation_id TEXT NOT NULL, created_at REAL NOT NULL, next_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',
    delivered_at REAL, UNIQUE (kind, ref, target));
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(delivered_at, next_at);
CREATE INDEX IF NOT EXISTS outbox_conv ON outbox(conversation_id);
CREATE TABLE IF NOT EXISTS appointments (
    id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id),
    assistant TEXT NOT NULL, action TEXT NOT NULL CHECK (action IN ('book', 'move', 'cancel')),
    kind TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, uid TEXT NOT NULL,
    who TEXT NOT NULL, t REAL NOT NULL);
CREATE INDEX IF NOT EXISTS appointments_conv ON appointments(conversation_id);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id),
    turn INTEGER NOT NULL, assistant TEXT NOT NULL, topics TEXT NOT NULL, t REAL NOT NULL);
CREATE INDEX IF NOT EXISTS answers_conv ON answers(conversation_id);
"""
SETTLE_S = 120.0


def number_of(row_id: int) -> int:
    return TICKET_BASE + row_id


def open_ticket(
    db: sqlite3.Connection,
    cid: str,
    *,
    assistant: str,
    who: str,
    callback: str,
    summary: str,
    urgency: str,
    targets: list[str],
    t: float,
) -> int:
    """Open (or update: one ticket per conversation) the ticket; returns its number. A new
    ticket queues a notice for each of `targets`."""
    found = db.execute("SELECT id FROM tickets WHERE conversation_id=?", (cid,)).fetchone()
    if found is not None:  # an update (an upsert would use up a number of the sequence)
        db.execute(
            "UPDATE tickets SET who=?, callback=?, summary=?, urgency=MAX(urgency, ?), "
            "updated_at=? WHERE id=?",
            (who, callback, summary, urgency, t, found[0]),
        )
        return number_of(int(found[0]))
    cur = db.execute(
        "INSERT INTO tickets(conversation_id, assistant, who, callback, summary, urgency, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (cid, assistant, who, callback, summary, urgency, t, t),
    )
    row_id = cur.lastrowid
    assert row_id is not None
    _queue(db, "ticket", row_id, cid, targets, t)
    return number_of(int(row_id))


LEAD_FIELDS = ("who", "company", "callback", "need", "budget", "urgency")


def record_lead(
    db: sqlite3.Connection,
    cid: str,
    *,
    assistant: str,
    fields: dict[str, str],
    targets: list[str],
    t: float,
) -> int:
    """Record (or update: one lead per conversation) the lead; its id. A new lead queues a
    notice for each of `targets`."""
    values = [fields.get(k, "") for k in LEAD_FIELDS]
    found = db.execute("SELECT id FROM leads WHERE conversation_id=?", (cid,)).fetchone()
    if found is not None:
        sets = ", ".join(f"{k}=?" for k in LEAD_FIELDS)
        db.execute(f"UPDATE leads SET {sets}, updated_at=? WHERE id=?", (*values, t, found[0]))
        return int(found[0])
    cur = db.execute(
        f"INSERT INTO leads(conversation_id, assistant, {', '.join(LEAD_FIELDS)}, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (cid, assistant, *values, t, t),
    )
    assert cur.lastrowid is not None
    _queue(db, "lead", cur.lastrowid, cid, targets, t)
    return int(cur.lastrowid)


def _queue(
    db: sqlite3.Connection, kind: str, ref: int, cid: str, targets: list[str], t: float
) -> None:
    for target in targets:
        db.execute(
            "INSERT OR IGNORE INTO outbox(kind, ref, target, conversation_id, created_at, next_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (kind, ref, target, cid, t, t + SETTLE_S),
        )


def lead_rows(db: sqlite3.Connection, *, since: float | None = None) -> list[dict[str, Any]]:
    """Leads, newest first, with how their notices stand."""
    found = newest(db, "leads", since=since)
    for lead in found:
        lead["notices"] = _notices(db, "lead", lead["id"])
    return found


def _notices(db: sqlite3.Connection, kind: str, ref: int) -> dict[str, str]:
    return {
        r["target"]: "delivered"
        if r["delivered_at"] is not None
        else (f"failing: {r['last_error']}" if r["attempts"] else "queued")
        for r in rows(db, "SELECT * FROM outbox WHERE kind=? AND ref=? ORDER BY id", (kind, ref))
    }


def conversation_ended(db: sqlite3.Connection, cid: str, t: float) -> None:
    """The caller is done: the conversation's queued notices are due now."""
    db.execute(
        "UPDATE outbox SET next_at=MIN(next_at, ?) WHERE conversation_id=? AND attempts=0 "
        "AND delivered_at IS NULL",
        (t, cid),
    )


def ticket_rows(
    db: sqlite3.Connection, *, since: float | None = None, conversation_id: str | None = None
) -> list[dict[str, Any]]:
    """Tickets, newest first, each with its `number` and how its notices stand (`notices`:
    target -> 'delivered', 'queued' or 'failing: <error>')."""
    out = newest(db, "tickets", since=since, conversation_id=conversation_id)
    for t in out:
        t["number"] = number_of(t["id"])
        t["notices"] = _notices(db, "ticket", t["id"])
    return out


def due(db: sqlite3.Connection, now: float, limit: int = 20) -> list[dict[str, Any]]:
    """Undelivered notices whose time has come, oldest first, each with its ticket."""
    found = rows(
        db,
        "SELECT * FROM outbox WHERE delivered_at IS NULL AND next_at <= ? ORDER BY next_at, id "
        "LIMIT ?",
        (now, limit),
    )
    for r in found:
        table = "tickets" if r["kind"] == "ticket" else "leads"
        record = rows(db, f"SELECT * FROM {table} WHERE id=?", (r["ref"],))
        r["record"] = record[0] if record else None
        if r["record"] is not None and r["kind"] == "ticket":
            r["record"]["number"] = number_of(r["ref"])
    return found


def delivered(db: sqlite3.Connection, outbox_id: int, t: float) -> None:
    db.execute(
        "UPDATE outbox SET delivered_at=?, attempts=attempts+1, last_error='' WHERE id=?",
        (t, outbox_id),
    )


def failed(db: sqlite3.Connection, outbox_id: int, error: str, next_at: float) -> None:
    db.execute(
        "UPDATE outbox SET attempts=attempts+1, last_error=?, next_at=? WHERE id=?",
        (error[:300], next_at, outbox_id),
    )


def pending(db: sqlite3.Connection) -> int:
    (n,) = db.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()
    return int(n)


CALENDAR_WRITES = ("calendar.book", "calendar.move", "calendar.cancel")


def appointment_changed(db: sqlite3.Connection, e: ToolUsed) -> None:
    """A calendar write the server confirmed: one row (the calendar stays the record)."""
    if e.tool not in CALENDAR_WRITES or e.result != "ok":
        return
    db.execute(
        "INSERT INTO appointments(conversation_id, assistant, action, kind, starts_at, ends_at,"
        " uid, who, t) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (e.conversation_id, e.assistant, e.tool.split(".")[1], e.kind, e.start, e.end, e.uid,
         e.who, e.t),
    )


def question_answered(db: sqlite3.Connection, e: QuestionAnswered) -> None:
    """A question the reply answered from the office facts (the report's "question answered")."""
    db.execute(
        "INSERT INTO answers(conversation_id, turn, assistant, topics, t) VALUES (?, ?, ?, ?, ?)",
        (e.conversation_id, e.turn, e.assistant, json.dumps(e.topics), e.t),
    )
