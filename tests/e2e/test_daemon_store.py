"""The daemon and its data directory, with real `voicebox run` processes in peer mode (no PBX)
on the 135M model, each in its own data directory ($VOICEBOX_DATA_DIR, no --db/--control):

- every file a full run writes is private (store 0600, directory 0750, nothing for others) and
  its stdout (the journal) holds no caller's words by default;
- kill -9 during a call, start again: the call is closed as interrupted, in the file and in the
  TUI's call log;
- a corrupt store is moved aside and a new one started, an unwritable one switched off: calls are
  answered either way, and the ready event, the status and the TUI's dashboard say so."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sipkit import GREETING_MS, Proc, Wavs, box_config, call, free_port, silence_wav, start_call
from textual.widgets import Static

from appliance.daemon.control_client import request
from tui.app import VoiceboxApp
from tui.calls_pane import CallLog, Search, transcript
from tui.dashboard import Dashboard

pytestmark = pytest.mark.e2e
SAID = "My name is Rosalind Featherstone and my account number is four four seven."


@pytest.fixture()
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """tmp_path/data is the box's data directory (not created: the box makes it); the config,
    the WAVs and the processes' logs live beside it."""
    monkeypatch.setenv("VOICEBOX_DATA_DIR", str(tmp_path / "data"))
    for name in ("VOICEBOX_DB", "VOICEBOX_CONTROL", "VOICEBOX_DATA"):
        monkeypatch.delenv(name, raising=False)
    box_config(tmp_path / "peer.yaml", None, transcripts=False, allow=["127.0.0.1/32"])
    yield tmp_path


def run_box(place: Path, name: str) -> tuple[Proc, dict[str, Any]]:
    """`voicebox run` on the data directory of `place`; (the process, its ready event)."""
    args = ["run", "--config", str(place / "peer.yaml"), "--json", "--port", str(free_port()),
            "--llm", "smollm2-135m"]  # fmt: skip
    box = Proc(args, place / f"{name}.log")
    try:
        ready = box.wait_for(lambda e: e["type"] == "ready", timeout=480)  # 2 cores, shared
    except AssertionError:
        box.stop()
        raise
    return box, ready


def uri(ready: dict[str, Any]) -> str:
    port = str(ready["address"]).rsplit(":", 1)[1]
    return f"sip:frontdesk@127.0.0.1:{port}"


def modes(folder: Path) -> dict[str, tuple[str, int]]:
    """Every entry under `folder` (itself included): relative name -> (kind, permission bits).
    Symlinks (a tuned Vosk model's links into the models) are not files the box writes."""
    out = {".": ("dir", stat.S_IMODE(folder.stat().st_mode))}
    for p in folder.rglob("*"):
        st = p.lstat()
        if stat.S_ISLNK(st.st_mode):
            continue
        kind = (
            "dir" if stat.S_ISDIR(st.st_mode) else "sock" if stat.S_ISSOCK(st.st_mode) else "file"
        )
        out[str(p.relative_to(folder))] = (kind, stat.S_IMODE(st.st_mode))
    return out


def check_private(folder: Path) -> dict[str, tuple[str, int]]:
    found = modes(folder)
    assert found["."] == ("dir", 0o750), found
    for name, (kind, mode) in found.items():
        assert mode & 0o007 == 0, f"{name} ({kind}) is open to others: {oct(mode)}"
        if re.fullmatch(r"voicebox\.db(-wal|-shm)?|.*\.corrupt-.*", name):
            assert mode == 0o600, f"{name}: {oct(mode)}"
    return found


def test_a_full_run_writes_only_private_files_and_keeps_words_out_of_the_journal(
    place: Path, wavs: Wavs
) -> None:
    data = place / "data"
    box, ready = run_box(place, "private")
    try:
        assert ready["store"]["state"] == "ok", ready
        wav = wavs.script("private-words", [(GREETING_MS, SAID)], 60000)
        caller = start_call(
            uri(ready), wav, place / "private-heard.wav", "--tail", "0",
            log=place / "private-caller.log",
        )  # fmt: skip
        try:
            box.wait_for(lambda e: e["type"] == "turn_done", 180)  # heard and answered
        finally:
            caller.stop()
        box.wait_for(lambda e: e["type"] == "call_end", 30)
        during = check_private(data)  # while the box runs: the WAL files and the socket exist
        assert {"voicebox.db", "voicebox.db-wal", "voicebox.db-shm"} <= set(during), during
        assert during["control.sock"][0] == "sock", during
        status = request(data / "control.sock", {"cmd": "status"})
        assert status["store"]["state"] == "ok" and status["store"]["write_errors"] == 0
    finally:
        assert box.stop() == 0
    check_private(data)  # and after a clean stop

    db = sqlite3.connect(data / "voicebox.db")
    turns = db.execute("SELECT role, text FROM turns").fetchall()
    db.close()
    said = [t for role, t in turns if role == "caller"]
    replies = [t for role, t in turns if role == "assistant" and len(t) > 10]
    assert said and replies, turns  # the store keeps the transcript
    stdout = (place / "private.jsonl").read_text()
    for text in said + replies:
        assert text not in stdout, f"{text!r} is in the journal"
    names = [w for w in ("rosalind", "featherstone") if w in " ".join(said).lower()]
    for word in names:  # the ones the recogniser got right
        assert word not in stdout.lower(), f"the caller's name {word!r} is in the journal"
    utterance = next(e for e in box.of("utterance"))
    assert re.fullmatch(r"\[\d+ chars not logged\]", utterance["text"]), utterance
    assert utterance["asr_ms"] > 0 and utterance["call"]  # timings and ids stay


def test_a_call_cut_by_kill_9_is_closed_as_interrupted_when_the_box_starts_again(
    place: Path, wavs: Wavs
) -> None:
    data = place / "data"
    box, ready = run_box(place, "crash")
    wav = wavs.script("crash-words", [(GREETING_MS, "Hello, I have a question about my bill.")],
                      30000)  # fmt: skip
    caller = start_call(uri(ready), wav, place / "crash-heard.wav", "--tail", "0",
                        log=place / "crash-caller.log")  # fmt: skip
    try:
        started = box.wait_for(lambda e: e["type"] == "call_start", 30)
        box.wait_for(lambda e: e["type"] == "utterance", 40)
        box.proc.kill()  # SIGKILL: no goodbye, no store close
        box.proc.wait(10)
    finally:
        caller.stop()
        box.stop()
    cid = started["conversation"]
    db = sqlite3.connect(data / "voicebox.db")
    assert db.execute("SELECT ended_at FROM conversations WHERE id=?", (cid,)).fetchone() == (
        None,
    ), "kill -9 left the call open"
    db.close()

    again, ready2 = run_box(place, "crash-again")
    try:
        store = ready2["store"]
        assert store["state"] == "ok" and store["interrupted"] == 1, store
        row = (
            sqlite3.connect(data / "voicebox.db")
            .execute(
                "SELECT end_reason, ended_at, started_at FROM conversations WHERE id=?", (cid,)
            )
            .fetchone()
        )
        assert row[0] == "interrupted" and row[1] >= row[2], row
        # the TUI's call log no longer shows it in progress
        listed = {c["id"]: c for c in CallLog(data / "voicebox.db").search(Search())}
        assert listed[cid]["end_reason"] == "interrupted"
        shown = "\n".join(
            str(t) for t in transcript(CallLog(data / "voicebox.db").conversation(cid))
        )
        assert "-- ended: interrupted" in shown and "in progress" not in shown, shown
        # and the box answers the next call
        rc, events = call(uri(ready2), silence_wav(place, 2), place / "after.wav", "--tail", "0")
        assert rc == 0 and any(e["type"] == "connected" for e in events)
    finally:
        again.stop()


def dashboard_text(data: Path) -> str:
    """What the TUI's dashboard says about the daemon serving `data`'s control socket."""
    app = VoiceboxApp(
        data.parent / "peer.yaml", control=data / "control.sock", db=data / "voicebox.db",
        flows_dir=data.parent,
    )  # fmt: skip
    out: dict[str, str] = {}

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            dash = app.query_one(Dashboard)
            for _ in range(200):
                if dash.up:
                    break
                await pilot.pause(0.05)
            await pilot.pause(0.5)
            out["daemon"] = str(app.query_one("#dash-daemon", Static).render())

    asyncio.run(main())
    return out["daemon"]


def answered(ready: dict[str, Any], place: Path, name: str, box: Proc) -> None:
    rc, events = call(uri(ready), silence_wav(place, 3), place / f"{name}.wav", "--tail", "0")
    assert rc == 0 and any(e["type"] == "connected" for e in events), events
    box.wait_for(lambda e: e["type"] == "call_start", 10)
    box.wait_for(lambda e: e["type"] == "call_end", 30)


def test_a_corrupt_store_is_moved_aside_and_calls_are_answered_and_recorded(
    place: Path,
) -> None:
    data = place / "data"
    data.mkdir(mode=0o750)
    junk = os.urandom(200_000)
    (data / "voicebox.db").write_bytes(junk)
    box, ready = run_box(place, "corrupt")
    try:
        store = ready["store"]
        assert store["state"] == "recovered", store
        kept = Path(store["moved_to"])
        assert kept.parent == data and kept.name.startswith("voicebox.db.corrupt-")
        assert kept.read_bytes() == junk
        answered(ready, place, "corrupt-call", box)
        status = request(data / "control.sock", {"cmd": "status"})
        assert status["store"]["state"] == "recovered"
        shown = dashboard_text(data)
        assert "store recovered" in shown and kept.name in shown, shown
    finally:
        assert box.stop() == 0
    n = sqlite3.connect(data / "voicebox.db").execute("SELECT count(*) FROM conversations")
    assert n.fetchone() == (1,), "the new store records the call"
    log = (place / "corrupt.log").read_text()
    assert "ERROR" in log and "store recovered" in log, log[-2000:]
    check_private(data)


def test_an_unwritable_store_leaves_the_box_answering_without_records(place: Path) -> None:
    data = place / "data"
    data.mkdir(mode=0o750)
    (data / "voicebox.db").mkdir()  # in the way: neither root nor the service can open it
    box, ready = run_box(place, "off")
    try:
        store = ready["store"]
        assert store["state"] == "off" and "voicebox.db" in store["message"], store
        answered(ready, place, "off-call", box)
        assert not box.of("error"), box.of("error")
        assert request(data / "control.sock", {"cmd": "status"})["store"]["state"] == "off"
        shown = dashboard_text(data)
        assert "store OFF" in shown and "not recorded" in shown, shown
    finally:
        assert box.stop() == 0
    log = (place / "off.log").read_text()
    assert "ERROR" in log and "store off" in log, log[-2000:]
