"""The store keeps callers' data private and never stops the phone: file modes, a corrupt file
moved aside, an unwritable one switched off, calls a crash left open closed as interrupted, an
index on every conversation_id column. Real SQLite files."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from appliance.events import CallerUtterance, ConversationEnded, ConversationStarted
from appliance.store import Store
from appliance.store.recovery import open_store

ROOT_USER = os.geteuid() == 0


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _started(store: Store, cid: str, t: float = 1000.0) -> None:
    store.record(ConversationStarted(cid, channel="sip", assistant="frontdesk", t=t))
    store.record(CallerUtterance(cid, turn=1, assistant="frontdesk", text="hello", t=t + 5))


def test_the_store_and_its_wal_files_are_private_and_a_new_directory_is_0750(
    tmp_path: Path,
) -> None:
    old = os.umask(0o022)  # the default umask of a shell or an old unit file
    try:
        path = tmp_path / "state" / "sub" / "voicebox.db"
        store = Store(path)
        _started(store, "c1")
        files = {p.name: _mode(p) for p in path.parent.iterdir()}
        assert set(files) == {"voicebox.db", "voicebox.db-wal", "voicebox.db-shm"}, files
        assert set(files.values()) == {0o600}, files
        assert _mode(path.parent) == 0o750 and _mode(path.parent.parent) == 0o750
        store.close()
    finally:
        os.umask(old)


def test_an_existing_world_readable_store_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "voicebox.db"
    sqlite3.connect(path).execute("CREATE TABLE x (a)").connection.close()
    os.chmod(path, 0o644)
    Store(path).close()
    assert _mode(path) == 0o600


def test_a_file_of_random_bytes_is_moved_aside_and_a_new_store_started(tmp_path: Path) -> None:
    path = tmp_path / "voicebox.db"
    junk = os.urandom(64 * 1024)
    path.write_bytes(junk)
    (tmp_path / "voicebox.db-wal").write_bytes(b"wal bytes")
    (tmp_path / "voicebox.db-shm").write_bytes(b"shm bytes")
    store, status = open_store(path)
    assert status.state == "recovered" and store is not None
    assert status.moved_to is not None and "corrupt" in status.message
    kept = Path(status.moved_to)
    assert kept.name.startswith("voicebox.db.corrupt-") and kept.parent == tmp_path
    assert kept.read_bytes() == junk  # kept as it was, never deleted
    assert Path(f"{kept}-wal").read_bytes() == b"wal bytes"
    assert Path(f"{kept}-shm").read_bytes() == b"shm bytes"
    assert _mode(kept) == 0o600
    _started(store, "c1")
    assert store.query("SELECT count(*) AS n FROM conversations")[0]["n"] == 1
    store.close()
    # a second corrupt file later is moved aside too, next to the first one
    path.write_bytes(os.urandom(4096))
    for name in ("voicebox.db-wal", "voicebox.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    store2, status2 = open_store(path)
    assert status2.state == "recovered" and store2 is not None
    assert status2.moved_to != status.moved_to and Path(str(status2.moved_to)).exists()
    assert kept.exists()
    store2.close()


def test_a_store_that_cannot_be_written_leaves_the_box_running_without_records(
    tmp_path: Path,
) -> None:
    in_the_way = tmp_path / "voicebox.db"
    in_the_way.mkdir()  # a directory at the db's path: not even root can open it as a file
    store, status = open_store(in_the_way)
    assert store is None and status.state == "off"
    assert str(in_the_way) in status.message and in_the_way.is_dir()
    # a folder that cannot exist (root cannot create it either)
    store, status = open_store(Path("/proc/voicebox-test/voicebox.db"))
    assert store is None and status.state == "off"


@pytest.mark.skipif(not ROOT_USER, reason="chattr +i needs root")
def test_an_immutable_store_file_is_off_not_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "voicebox.db"
    Store(path).close()
    os.chmod(path, 0o400)
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {done.stderr!r}")
    try:
        store, status = open_store(path)
        assert store is None and status.state == "off", status
        assert not list(tmp_path.glob("*corrupt*")) and path.is_file()  # not moved aside
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_file_the_service_user_cannot_write_is_off(tmp_path: Path) -> None:
    """The service user meets a store it may read but not write (chmod 0400; as root the check
    runs as `nobody`, since root ignores the mode)."""
    folder = Path(tempfile.mkdtemp(prefix="vb-ro-", dir="/tmp"))  # tmp_path's parents are 0700
    try:
        path = folder / "voicebox.db"
        Store(path).close()
        os.chmod(path, 0o400)
        os.chmod(folder, 0o755)
        if ROOT_USER:
            os.chown(path, 65534, 65534)
            code = (
                "import sys; from pathlib import Path; from appliance.store.recovery import "
                "open_store; s, st = open_store(Path(sys.argv[1])); print(st.state, st.message)"
            )
            done = subprocess.run(
                ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                 sys.executable, "-c", code, str(path)],
                capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
                timeout=60,
            )  # fmt: skip
            assert done.stdout.startswith("off "), (done.stdout, done.stderr)
        else:
            store, status = open_store(path)
            assert store is None and status.state == "off"
        assert not list(folder.glob("*corrupt*")) and path.is_file()  # not moved aside
    finally:
        shutil.rmtree(folder)


def test_a_write_error_is_counted_and_never_raised(tmp_path: Path) -> None:
    path = tmp_path / "voicebox.db"
    store = Store(path)
    _started(store, "c1")
    store._db.execute("PRAGMA query_only=ON")  # every write now fails inside SQLite
    store.record(CallerUtterance("c1", turn=2, assistant="frontdesk", text="are you there"))
    store.record(ConversationEnded("c1", reason="caller hung up", assistant="frontdesk", turns=2))
    assert store.write_errors == 2 and "readonly" in store.last_error
    store.close()


def test_calls_an_earlier_run_left_open_are_closed_as_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "voicebox.db"
    store = Store(path)
    _started(store, "crashed", t=1000.0)
    _started(store, "finished", t=2000.0)
    store.record(ConversationEnded("finished", reason="caller hung up", assistant="frontdesk",
                                   turns=1, t=2030.0))  # fmt: skip
    store.close()  # what kill -9 leaves: "crashed" has no end

    store, status = open_store(path, close_interrupted=True)
    assert store is not None and status.state == "ok" and status.interrupted == 1
    rows = {r["id"]: r for r in store.query("SELECT * FROM conversations")}
    assert rows["crashed"]["end_reason"] == "interrupted"
    assert rows["crashed"]["ended_at"] == 1005.0  # its last recorded turn
    finished = rows["finished"]
    assert (finished["end_reason"], finished["ended_at"]) == ("caller hung up", 2030.0)
    store.close()
    # `voicebox chat` or the TUI opening the same store does not close a live call
    store = Store(path)
    _started(store, "live", t=3000.0)
    other, _ = open_store(path)
    assert other is not None
    assert other.query("SELECT ended_at FROM conversations WHERE id='live'")[0]["ended_at"] is None
    other.close()
    store.close()


def _old_file(path: Path) -> None:
    """A store written by the first release: the same tables, none of the newer indexes."""
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE conversations (id TEXT PRIMARY KEY, channel TEXT NOT NULL,
            caller TEXT NOT NULL DEFAULT '', entry_assistant TEXT NOT NULL, final_assistant TEXT,
            started_at REAL NOT NULL, ended_at REAL, end_reason TEXT,
            turns INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE decisions (id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL,
            turn INTEGER NOT NULL, assistant TEXT NOT NULL, outcome TEXT NOT NULL, target TEXT,
            path TEXT NOT NULL, reason TEXT NOT NULL, scores TEXT NOT NULL,
            latency_ms REAL NOT NULL, t REAL NOT NULL);
        CREATE TABLE handoffs (id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL,
            turn INTEGER NOT NULL, from_assistant TEXT NOT NULL, to_assistant TEXT NOT NULL,
            reason TEXT NOT NULL, path TEXT NOT NULL, scores TEXT NOT NULL, history TEXT NOT NULL,
            announcement TEXT NOT NULL, latency_ms REAL, t REAL NOT NULL);
        """
    )
    db.commit()
    db.close()


def test_every_conversation_id_column_is_indexed_also_in_an_old_file(tmp_path: Path) -> None:
    for name in ("new.db", "old.db"):
        path = tmp_path / name
        if name == "old.db":
            _old_file(path)
        Store(path).close()
        db = sqlite3.connect(path)
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        with_column = [
            t for t in tables
            if "conversation_id" in [c[1] for c in db.execute(f"PRAGMA table_info({t})")]
        ]  # fmt: skip
        assert {"turns", "decisions", "handoffs", "slots"} <= set(with_column), with_column
        for table in with_column:
            leading = [
                db.execute(f"PRAGMA index_info({ix[1]})").fetchone()[2]
                for ix in db.execute(f"PRAGMA index_list({table})")
            ]
            assert "conversation_id" in leading, (name, table, leading)
        plan = " ".join(
            str(r[-1])
            for r in db.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM handoffs WHERE conversation_id='x'"
            )
        )
        assert "USING INDEX" in plan, plan
        db.close()
