"""SQLite store (WAL): conversations, turns, routing decisions, handoffs and slots.

The store listens to conversation events; it never blocks a conversation for long (one short
transaction per event) and a failing write is logged, not raised into the call.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from appliance.errors import StoreError
from appliance.events import (
    AssistantReply,
    CallerUtterance,
    ConversationEnded,
    ConversationStarted,
    Event,
    HandoffStarted,
    MessageTaken,
    QuestionAnswered,
    ReplyCutOff,
    RoutingDecided,
    SlotsUpdated,
    ToolUsed,
)
from appliance.paths import ensure_data_dir
from appliance.store import call_log, desk, reminder_log

_LOGGER = logging.getLogger(__name__)
# 2: tickets, leads and the outbox; 3: appointments (appliance/store/desk.py); 4: reminder
# calls and answered questions
SCHEMA_VERSION = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, channel TEXT NOT NULL, caller TEXT NOT NULL DEFAULT '',
    entry_assistant TEXT NOT NULL, final_assistant TEXT, started_at REAL NOT NULL,
    ended_at REAL, end_reason TEXT, turns INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id),
    turn INTEGER NOT NULL, role TEXT NOT NULL CHECK (role IN ('caller', 'assistant')),
    assistant TEXT NOT NULL, text TEXT NOT NULL, t REAL NOT NULL,
    first_token_ms REAL, total_ms REAL, cut_off INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id),
    turn INTEGER NOT NULL, assistant TEXT NOT NULL, outcome TEXT NOT NULL, target TEXT,
    path TEXT NOT NULL, reason TEXT NOT NULL, scores TEXT NOT NULL, latency_ms REAL NOT NULL,
    t REAL NOT NULL);
CREATE TABLE IF NOT EXISTS handoffs (
    id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id),
    turn INTEGER NOT NULL, from_assistant TEXT NOT NULL, to_assistant TEXT NOT NULL,
    reason TEXT NOT NULL, path TEXT NOT NULL, scores TEXT NOT NULL, history TEXT NOT NULL,
    announcement TEXT NOT NULL, latency_ms REAL, t REAL NOT NULL);
CREATE TABLE IF NOT EXISTS slots (
    conversation_id TEXT NOT NULL REFERENCES conversations(id), name TEXT NOT NULL,
    value TEXT NOT NULL, turn INTEGER NOT NULL, t REAL NOT NULL,
    PRIMARY KEY (conversation_id, name));
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL UNIQUE REFERENCES conversations(id),
    assistant TEXT NOT NULL, who TEXT NOT NULL, callback TEXT NOT NULL, what TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS messages_created ON messages(created_at);
CREATE INDEX IF NOT EXISTS turns_conv ON turns(conversation_id, turn);
CREATE INDEX IF NOT EXISTS decisions_conv ON decisions(conversation_id);
CREATE INDEX IF NOT EXISTS handoffs_conv ON handoffs(conversation_id);
CREATE INDEX IF NOT EXISTS conv_started ON conversations(started_at);
"""


DB_MODE = 0o600  # the store and its -wal/-shm files: callers' words, names and numbers
SQLITE_HEADER = b"SQLite format 3\x00"


class StoreCorrupt(StoreError):
    """The file is not a SQLite database, or SQLite finds it damaged."""


def _create_private(path: Path) -> None:
    """Create a missing store file 0600 (SQLite gives its -wal and -shm the file's mode); make an
    existing one private when an older voicebox left it readable by others."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DB_MODE))
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(OSError):  # not ours to change: SQLite will say if it matters
            if p.is_file() and p.stat().st_mode & 0o077:
                os.chmod(p, DB_MODE)


def _check_header(path: Path) -> None:
    """A non-empty file that does not start as SQLite files do is corrupt: said before SQLite
    opens it (SQLite would drop a -wal it cannot use, and the file is to be kept as found)."""
    with open(path, "rb") as f:
        head = f.read(len(SQLITE_HEADER))
    if head and head != SQLITE_HEADER:
        raise StoreCorrupt(f"cannot open the store {path}: file is not a database")


def _open_error(path: Path, err: sqlite3.Error) -> StoreError:
    name = getattr(err, "sqlite_errorname", "")
    corrupt = name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT"))
    cls = StoreCorrupt if corrupt else StoreError
    return cls(f"cannot open the store {path}: {err}")


class Store:
    """A SQLite file shared by the daemon's threads (one connection, serialized)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.write_errors = 0  # failed writes since open (each logged)
        self.last_error = ""
        try:
            ensure_data_dir(path.parent)
            _create_private(path)
            _check_header(path)
            self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=5.0)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot open the store {path}: {err}") from err
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._check()
            self._migrate()
        except sqlite3.Error as err:
            self._db.close()
            raise _open_error(path, err) from err
        except StoreError:
            self._db.close()
            raise
        self._lock = threading.Lock()
        self._last_decision: dict[str, float] = {}

    def _check(self) -> None:
        problems = [r[0] for r in self._db.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise StoreCorrupt(f"the store {self.path} is damaged: {'; '.join(problems[:3])}")

    def _migrate(self) -> None:
        row = None
        with contextlib.suppress(sqlite3.OperationalError):  # a new file: no meta table yet
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {row[0]}, newer than this voicebox "
                f"({SCHEMA_VERSION}); refusing to touch it"
            )
        with self._db:
            self._db.executescript(SCHEMA + desk.SCHEMA + reminder_log.SCHEMA)
            self._db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    @property
    def schema_version(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0])

    def close_interrupted(self) -> int:
        """Close the conversations an earlier run left open (a crash, kill -9, a power cut) as
        `interrupted`, ended at their last recorded turn. The daemon calls it once when it opens
        the store, before it answers a call: no open conversation is its own yet."""
        with self._lock, self._db:
            cur = self._db.execute(
                "UPDATE conversations SET end_reason='interrupted', "
                "ended_at=MAX(started_at, COALESCE((SELECT MAX(t) FROM turns "
                "WHERE turns.conversation_id=conversations.id), started_at)), "
                "final_assistant=COALESCE(final_assistant, (SELECT assistant FROM turns "
                "WHERE turns.conversation_id=conversations.id ORDER BY id DESC LIMIT 1), "
                "entry_assistant) WHERE ended_at IS NULL"
            )
            return int(cur.rowcount)

    # -- writing ----------------------------------------------------------------------------

    def record(self, event: Event) -> None:
        """Event listener: write one event; errors are logged, never raised into the call."""
        try:
            with self._lock, self._db:
                self._write(event)
        except sqlite3.Error as err:
            self.write_errors += 1
            self.last_error = str(err)
            _LOGGER.error(
                "store: could not record %s of conversation %s (%s); the call goes on",
                event.type,
                event.conversation_id,
                err,
            )

    def _write(self, e: Event) -> None:
        db = self._db
        cid = e.conversation_id
        if isinstance(e, ConversationStarted):
            db.execute(
                "INSERT INTO conversations(id, channel, caller, entry_assistant, started_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (cid, e.channel, e.caller, e.assistant, e.t),
            )
        elif isinstance(e, CallerUtterance):
            db.execute(
                "INSERT INTO turns(conversation_id, turn, role, assistant, text, t) "
                "VALUES (?, ?, 'caller', ?, ?, ?)",
                (cid, e.turn, e.assistant, e.text, e.t),
            )
            db.execute("UPDATE conversations SET turns=? WHERE id=?", (e.turn, cid))
        elif isinstance(e, AssistantReply):
            db.execute(
                "INSERT INTO turns(conversation_id, turn, role, assistant, text, t, first_token_ms,"
                " total_ms, cut_off) VALUES (?, ?, 'assistant', ?, ?, ?, ?, ?, ?)",
                (
                    cid,
                    e.turn,
                    e.assistant,
                    e.text,
                    e.t,
                    e.first_token_ms,
                    e.total_ms,
                    int(e.cut_off),
                ),
            )
        elif isinstance(e, ReplyCutOff):
            # the transcript keeps what the caller actually heard
            db.execute(
                "UPDATE turns SET cut_off=1, text=? WHERE conversation_id=? AND turn=? "
                "AND role='assistant'",
                (e.heard + " ...", cid, e.turn),
            )
        elif isinstance(e, RoutingDecided):
            db.execute(
                "INSERT INTO decisions(conversation_id, turn, assistant, outcome, target, path, "
                "reason, scores, latency_ms, t) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cid,
                    e.turn,
                    e.assistant,
                    e.outcome,
                    e.target,
                    e.path,
                    e.reason,
                    json.dumps(e.scores),
                    e.latency_ms,
                    e.t,
                ),
            )
            self._last_decision[cid] = e.latency_ms
        elif isinstance(e, HandoffStarted):
            db.execute(
                "INSERT INTO handoffs(conversation_id, turn, from_assistant, to_assistant, reason, "
                "path, scores, history, announcement, latency_ms, t) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cid,
                    e.turn,
                    e.from_assistant,
                    e.to_assistant,
                    e.reason,
                    e.path,
                    json.dumps(e.scores),
                    e.history,
                    e.announcement,
                    self._last_decision.get(cid),
                    e.t,
                ),
            )
        elif isinstance(e, SlotsUpdated):
            for name in e.changed:
                db.execute(
                    "INSERT INTO slots(conversation_id, name, value, turn, t) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(conversation_id, name) "
                    "DO UPDATE SET value=excluded.value, turn=excluded.turn, t=excluded.t",
                    (cid, name, e.slots[name], e.turn, e.t),
                )
        elif isinstance(e, MessageTaken):
            # one message per conversation: later details update it, created_at stays
            db.execute(
                "INSERT INTO messages(conversation_id, assistant, who, callback, what, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(conversation_id) DO UPDATE SET who=excluded.who, "
                "callback=excluded.callback, what=excluded.what, updated_at=excluded.updated_at",
                (cid, e.assistant, e.who, e.callback, e.what, e.t, e.t),
            )
        elif isinstance(e, ToolUsed):
            desk.appointment_changed(db, e)
        elif isinstance(e, QuestionAnswered):
            desk.question_answered(db, e)
        elif isinstance(e, ConversationEnded):
            db.execute(
                "UPDATE conversations SET ended_at=?, end_reason=?, final_assistant=?, turns=? "
                "WHERE id=?",
                (e.t, e.reason, e.assistant, e.turns, cid),
            )
            desk.conversation_ended(db, cid, e.t)
            self._last_decision.pop(cid, None)

    # -- reading ----------------------------------------------------------------------------

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return call_log.rows(self._db, sql, args)

    def conversation(self, cid: str) -> dict[str, Any]:
        """One conversation with its turns, handoffs, decisions, slots and message."""
        with self._lock:
            conv = call_log.read_conversation(self._db, cid)
        if conv is None:
            raise StoreError(f"no conversation {cid}")
        return conv

    def messages(
        self, *, since: float | None = None, conversation_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Messages for the team (take_message), newest first."""
        with self._lock:
            return call_log.read_messages(self._db, since=since, conversation_id=conversation_id)

    # -- the office's records: tickets and the outbox ------------------------------------------

    def open_ticket(
        self,
        cid: str,
        *,
        assistant: str,
        who: str,
        callback: str,
        summary: str,
        urgency: str,
        targets: list[str],
    ) -> int:
        """Open or update the conversation's ticket (its notices queued with it); its number.
        Raises StoreError when it cannot be written: the caller must not hear a number."""
        try:
            with self._lock, self._db:
                return desk.open_ticket(
                    self._db, cid, assistant=assistant, who=who, callback=callback,
                    summary=summary, urgency=urgency, targets=targets, t=time.time(),
                )  # fmt: skip
        except sqlite3.Error as err:
            self.write_errors += 1
            self.last_error = str(err)
            raise StoreError(f"could not open a ticket for conversation {cid}: {err}") from err

    def record_lead(
        self, cid: str, *, assistant: str, fields: dict[str, str], targets: list[str]
    ) -> int:
        """Record or update the conversation's lead (its notices queued with it); its id."""
        try:
            with self._lock, self._db:
                return desk.record_lead(
                    self._db, cid, assistant=assistant, fields=fields, targets=targets,
                    t=time.time(),
                )  # fmt: skip
        except sqlite3.Error as err:
            self.write_errors += 1
            self.last_error = str(err)
            raise StoreError(f"could not record a lead for conversation {cid}: {err}") from err

    def leads(self, *, since: float | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return desk.lead_rows(self._db, since=since)

    def tickets(
        self, *, since: float | None = None, conversation_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Tickets, newest first, with their numbers and how their notices stand."""
        with self._lock:
            return desk.ticket_rows(self._db, since=since, conversation_id=conversation_id)

    def outbox_due(self, now: float) -> list[dict[str, Any]]:
        with self._lock:
            return desk.due(self._db, now)

    def outbox_done(self, outbox_id: int, *, error: str = "", retry_at: float = 0.0) -> None:
        """One delivery's result: delivered (no error), else failed and due again at
        `retry_at`."""
        with self._lock, self._db:
            if error:
                desk.failed(self._db, outbox_id, error, retry_at)
            else:
                desk.delivered(self._db, outbox_id, time.time())

    def outbox_pending(self) -> int:
        with self._lock:
            return desk.pending(self._db)

    # -- reminder calls (appliance/tools/reminders.py) ----------------------------------------

    def reminder(self, uid: str) -> dict[str, Any] | None:
        with self._lock:
            return reminder_log.get(self._db, uid)

    def reminder_calling(
        self, uid: str, *, kind: str, who: str, phone: str, starts_at: str
    ) -> int:
        """A reminder call is placed (StoreError: it is not, the box must not call unrecorded);
        the number of this attempt."""
        try:
            with self._lock, self._db:
                return reminder_log.calling(
                    self._db, uid, kind=kind, who=who, phone=phone, starts_at=starts_at,
                    t=time.time(),
                )  # fmt: skip
        except sqlite3.Error as err:
            self.write_errors += 1
            self.last_error = str(err)
            raise StoreError(f"could not record the reminder call for {uid}: {err}") from err

    def reminder_done(
        self, uid: str, *, state: str, conversation_id: str = "", detail: str = "",
        next_at: float = 0.0, refund: bool = False,
    ) -> None:  # fmt: skip
        try:
            with self._lock, self._db:
                reminder_log.finished(
                    self._db, uid, state=state, conversation_id=conversation_id, detail=detail,
                    next_at=next_at, refund=refund, t=time.time(),
                )  # fmt: skip
        except sqlite3.Error as err:
            self.write_errors += 1
            self.last_error = str(err)
            _LOGGER.error("store: could not record the reminder result of %s: %s", uid, err)

    def reminders(self, *, since: float | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return reminder_log.listing(self._db, since=since)

    def close(self) -> None:
        with self._lock:
            self._db.close()
