"""Reading the call store: the call log (search, today's counts), one conversation with its
transcript, the messages for the team. The SQL lives here once; the store (appliance/store/)
reads through it on its own connection, the TUI's `CallLog` on a read-only one (an SQLite
`mode=ro` URI, opened for each read and closed again, so the TUI never changes the store and
never holds it open while the daemon writes).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

_LOGGER = logging.getLogger(__name__)
LIMIT = 200
TICKET_BASE = 1000  # a ticket's number is its row id + this (appliance/store/desk.py)
T = TypeVar("T")


def rows(db: sqlite3.Connection, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cur = db.execute(sql, args)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def has_table(db: sqlite3.Connection, name: str) -> bool:
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,))
    return row.fetchone() is not None


def has_messages(db: sqlite3.Connection) -> bool:
    """A store written before take_message existed has no messages table."""
    return has_table(db, "messages")


def read_messages(
    db: sqlite3.Connection, *, since: float | None = None, conversation_id: str | None = None
) -> list[dict[str, Any]]:
    """Messages for the team (take_message), newest first."""
    if not has_messages(db):
        return []
    return newest(db, "messages", since=since, conversation_id=conversation_id)


def newest(
    db: sqlite3.Connection,
    table: str,
    *,
    since: float | None = None,
    conversation_id: str | None = None,
) -> list[dict[str, Any]]:
    """A record table's rows (messages, tickets, leads), newest first, from `since` on, of one
    conversation when given."""
    where: list[str] = []
    args: list[Any] = []
    if since is not None:
        where.append("created_at >= ?")
        args.append(since)
    if conversation_id is not None:
        where.append("conversation_id = ?")
        args.append(conversation_id)
    sql = f"SELECT * FROM {table}" + (" WHERE " + " AND ".join(where) if where else "")
    return rows(db, sql + " ORDER BY created_at DESC, id DESC", tuple(args))


def read_conversation(db: sqlite3.Connection, cid: str) -> dict[str, Any] | None:
    """One conversation with its turns, handoffs, non-stay decisions, slots and message (the
    newest, if the caller left one); None when there is no such conversation."""
    found = rows(db, "SELECT * FROM conversations WHERE id=?", (cid,))
    if not found:
        return None
    conv = found[0]
    conv["turns_list"] = rows(
        db,
        "SELECT turn, role, assistant, text, cut_off FROM turns "
        "WHERE conversation_id=? ORDER BY id",
        (cid,),
    )
    conv["handoffs"] = rows(
        db,
        "SELECT turn, from_assistant, to_assistant, reason, path, announcement, scores, "
        "latency_ms FROM handoffs WHERE conversation_id=? ORDER BY id",
        (cid,),
    )
    conv["decisions"] = rows(
        db,
        "SELECT turn, assistant, outcome, target, path, reason FROM decisions "
        "WHERE conversation_id=? AND outcome != 'stay' ORDER BY id",
        (cid,),
    )
    conv["slots"] = {
        r["name"]: r["value"]
        for r in rows(
            db, "SELECT name, value FROM slots WHERE conversation_id=? ORDER BY turn", (cid,)
        )
    }
    conv["message"] = next(iter(read_messages(db, conversation_id=cid)), None)
    tickets = (
        rows(db, "SELECT * FROM tickets WHERE conversation_id=?", (cid,))
        if has_table(db, "tickets")  # a store from before tickets (schema 1) has none
        else []
    )
    conv["ticket"] = tickets[0] if tickets else None
    if conv["ticket"] is not None:
        conv["ticket"]["number"] = TICKET_BASE + conv["ticket"]["id"]
    return conv


class StoreUnreadable(Exception):
    """The call store is missing, corrupt or not a voicebox store; the text says which."""


@dataclass(frozen=True)
class Search:
    day: date | None = None
    caller: str = ""
    assistant: str = ""


def like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class CallLog:
    """Read-only access to the daemon's SQLite store."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if not self.path.exists():
            raise StoreUnreadable(f"no calls recorded yet ({self.path})")
        try:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
        except sqlite3.Error as err:
            raise StoreUnreadable(f"cannot open the call store {self.path}: {err}") from err
        try:
            return fn(db)
        except sqlite3.OperationalError as err:
            if "no such" in str(err):
                raise StoreUnreadable(f"{self.path} is not a voicebox call store ({err})") from err
            raise StoreUnreadable(f"cannot read the call store {self.path}: {err}") from err
        except sqlite3.DatabaseError as err:
            raise StoreUnreadable(f"cannot read the call store {self.path}: {err}") from err
        finally:
            db.close()

    def today(self) -> dict[str, int]:
        """Phone calls, handoffs and transfers to a person since midnight (the dashboard)."""
        midnight = datetime.combine(date.today(), datetime.min.time()).timestamp()

        def run(db: sqlite3.Connection) -> dict[str, int]:
            calls, transfers = db.execute(
                "SELECT COUNT(*), SUM(end_reason LIKE 'transferred to%') FROM conversations "
                "WHERE channel='sip' AND started_at >= ?",
                (midnight,),
            ).fetchone()
            (handoffs,) = db.execute(
                "SELECT COUNT(*) FROM handoffs h JOIN conversations c ON c.id = h.conversation_id "
                "WHERE c.channel='sip' AND h.t >= ?",
                (midnight,),
            ).fetchone()
            messages = 0
            if has_messages(db):
                (messages,) = db.execute(
                    "SELECT COUNT(*) FROM messages m JOIN conversations c "
                    "ON c.id = m.conversation_id WHERE c.channel='sip' AND m.created_at >= ?",
                    (midnight,),
                ).fetchone()
            return {
                "calls": calls or 0,
                "handoffs": handoffs or 0,
                "transfers": transfers or 0,
                "messages": messages or 0,
            }

        return self._read(run)

    def search(self, s: Search, limit: int = LIMIT) -> list[dict[str, Any]]:
        """Matching conversations, newest first, each with its assistants 'path'."""
        where: list[str] = []
        args: list[Any] = []
        if s.day is not None:
            start = datetime.combine(s.day, datetime.min.time())
            where.append("c.started_at >= ? AND c.started_at < ?")
            args += [start.timestamp(), (start + timedelta(days=1)).timestamp()]
        if s.caller.strip():
            where.append("c.caller LIKE ? ESCAPE '\\'")
            args.append(f"%{like(s.caller.strip())}%")
        if s.assistant.strip():
            name = s.assistant.strip()
            where.append(
                "(c.entry_assistant = ? COLLATE NOCASE OR c.final_assistant = ? COLLATE NOCASE"
                " OR EXISTS (SELECT 1 FROM turns t WHERE t.conversation_id = c.id"
                " AND t.role = 'assistant' AND t.assistant = ? COLLATE NOCASE)"
                " OR EXISTS (SELECT 1 FROM handoffs h WHERE h.conversation_id = c.id"
                " AND h.to_assistant = ? COLLATE NOCASE))"
            )
            args += [name] * 4
        sql = "SELECT * FROM conversations c"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY c.started_at DESC LIMIT ?"

        def run(db: sqlite3.Connection) -> list[dict[str, Any]]:
            convs = rows(db, sql, (*args, limit))
            hops: dict[str, list[str]] = {}
            ids = [c["id"] for c in convs]
            for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
                marks = ",".join("?" * len(chunk))
                for h in rows(
                    db,
                    f"SELECT conversation_id, to_assistant FROM handoffs "
                    f"WHERE conversation_id IN ({marks}) ORDER BY id",
                    tuple(chunk),
                ):
                    hops.setdefault(h["conversation_id"], []).append(h["to_assistant"])
            noted: set[str] = set()
            if ids and has_messages(db):
                for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
                    marks = ",".join("?" * len(chunk))
                    noted |= {
                        str(r[0])
                        for r in db.execute(
                            f"SELECT conversation_id FROM messages "
                            f"WHERE conversation_id IN ({marks})",
                            tuple(chunk),
                        )
                    }
            for c in convs:
                c["path"] = " > ".join([c["entry_assistant"], *hops.get(c["id"], [])])
                c["has_message"] = c["id"] in noted
            return convs

        return self._read(run)

    def conversation(self, cid: str) -> dict[str, Any]:
        """One conversation with its turns, handoffs, non-stay decisions, slots and message."""

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            conv = read_conversation(db, cid)
            if conv is None:
                raise StoreUnreadable(f"no conversation {cid} in {self.path}")
            return conv

        return self._read(run)
