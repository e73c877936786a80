"""The control socket and the live state, without a daemon: fake status/reload callables on a
real unix socket; the reload rules on configs."""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from waiting import wait_until

from appliance.cli.sip import config_file
from appliance.config import load_config, template_text
from appliance.config.sip import SipAccount
from appliance.daemon.control_server import (
    ControlError,
    ControlServer,
    LiveState,
    request,
    subscribe,
)
from appliance.daemon.reload import TEMPLATE_ONLY, live_config, problems, reload_box, restart_needed
from appliance.errors import ConfigError

Event = dict[str, Any]


def call_events() -> list[Event]:
    """One call: answered by the front desk, handed to sales, sent to reception, ended."""
    return [
        {"type": "registration", "account": "sip:100@pbx", "state": "registered", "code": 200,
         "reason": "OK", "wall": 1.0},
        {"type": "call_incoming", "call": "c1", "caller": "<sip:anna@pbx>", "source": "1.2.3.4",
         "assistant": "frontdesk", "wall": 2.0},
        {"type": "call_connected", "call": "c1", "remote": "x", "wall": 2.1},
        {"type": "call_start", "call": "c1", "assistant": "frontdesk", "conversation": "k",
         "t_ms": 0, "wall": 2.2},
        {"type": "utterance", "call": "c1", "text": "I want to buy the big plan", "wall": 5.0},
        {"type": "handoff", "call": "c1", "from": "frontdesk", "to": "sales", "turn": 1,
         "wall": 5.5},
        {"type": "reply", "call": "c1", "assistant": "sales", "text": "Sure!", "wall": 6.0},
        {"type": "human_requested", "call": "c1", "human": "reception", "why": "asked",
         "wall": 8.0},
        {"type": "transfer_start", "call": "c1", "human": "reception", "uri": "sip:200@pbx",
         "mode": "warm", "wall": 8.1},
    ]  # fmt: skip


def test_live_state_folds_a_call_with_a_handoff_and_a_transfer() -> None:
    s = LiveState()
    for ev in call_events():
        s.apply(ev)
    assert s.accounts["sip:100@pbx"]["state"] == "registered"
    call = s.calls["c1"]
    assert call["assistant"] == "sales" and call["state"] == "transferring"
    assert call["caller"] == "<sip:anna@pbx>" and call["started"] == 2.0
    assert call["last_heard"] == "I want to buy the big plan" and call["last_said"] == "Sure!"
    assert [e["text"] for e in call["timeline"]] == [
        "frontdesk answers",
        "frontdesk -> sales",
        "to a person: reception",
    ]
    s.apply({"type": "transfer_done", "call": "c1", "human": "reception", "mode": "warm"})
    assert s.calls["c1"]["timeline"][-1]["text"] == "transferred to reception (warm)"
    assert s.calls["c1"]["path"] == ["frontdesk", "sales", "reception"]
    assert LiveState.from_snapshot(s.snapshot()).calls["c1"]["path"] == s.calls["c1"]["path"]
    # the person hangs up first: the caller's leg is still there until its own call_ended
    s.apply({"type": "call_ended", "call": "c1", "leg": "human", "code": 200, "reason": "BYE"})
    assert "c1" in s.calls
    s.apply({"type": "call_ended", "call": "c1", "code": 200, "reason": "Normal", "wall": 20.0})
    assert s.calls == {}
    assert s.recent[-1]["call"] == "c1" and s.recent[-1]["ended"] == 20.0
    # a late event of the ended call does not bring it back
    s.apply({"type": "call_start", "call": "c1", "assistant": "frontdesk"})
    assert s.calls == {}
    assert s.counters == {"calls": 1, "handoffs": 1, "transfers": 1, "rejected": 0, "overflow": 0}


def test_live_state_counts_refusals_reloads_and_calls_without_sip() -> None:
    s = LiveState()
    s.apply({"type": "call_rejected", "source": "1.2.3.4", "code": 403})
    s.apply({"type": "call_overflow", "action": "busy", "code": 486})
    s.apply({"type": "config_reloaded", "generation": 3, "restart_needed": []})
    s.apply({"type": "call_start", "call": "t1", "assistant": "support", "wall": 1.0})
    assert s.calls["t1"]["state"] == "connected"
    s.apply({"type": "transfer_failed", "call": "t1", "human": "oncall", "reason": "no answer"})
    assert s.calls["t1"]["timeline"][-1]["text"] == "transfer to oncall failed: no answer"
    s.apply({"type": "call_end", "call": "t1", "reason": "silence"})
    assert s.calls == {} and s.recent[-1]["reason"] == "silence"
    assert s.counters["rejected"] == 1 and s.counters["overflow"] == 1
    assert s.counters["calls"] == 1 and s.config_generation == 3
    # a SIP call stays until the SIP leg ends, whatever the conversation does first
    s.apply({"type": "call_incoming", "call": "c2", "caller": "x", "assistant": "frontdesk"})
    s.apply({"type": "call_end", "call": "c2", "reason": "goodbye"})
    assert "c2" in s.calls


def test_snapshot_round_trip_then_the_same_folding() -> None:
    s = LiveState()
    events = call_events()
    for ev in events[:6]:
        s.apply(ev)
    snap = json.loads(json.dumps(s.snapshot()))  # what travels over the socket
    t = LiveState.from_snapshot(snap)
    assert t.snapshot() == s.snapshot()
    for ev in events[6:]:
        s.apply(ev)
        t.apply(ev)
    assert t.snapshot() == s.snapshot()
    assert t.calls["c1"]["state"] == "transferring"
    assert LiveState.from_snapshot({"calls": {"x": "junk"}, "counters": None}).calls == {}


@pytest.mark.parametrize(
    "ev",
    [
        {"type": "handoff", "call": "c1"},
        {"type": "registration"},
        {"type": "call_incoming"},
        {"type": "config_reloaded", "generation": "many"},
        {"type": "handoff", "call": None, "from": 1, "to": 2},
        {"type": "call_ended"},
        {"type": "no_such_event", "call": "c1"},
        {"call": "c1"},
        {"type": "transfer_start", "call": "c1"},
        "not a dict",
    ],
)
def test_malformed_events_never_raise_and_change_nothing(ev: Any) -> None:
    s = LiveState()
    for good in call_events()[:4]:
        s.apply(good)
    before = s.snapshot()
    s.apply(ev)
    assert s.snapshot() == before


# -- the socket -----------------------------------------------------------------------------


class Fakes:
    def __init__(self) -> None:
        self.reloads = 0

    def status(self) -> Event:
        return {"type": "status", "pid": 1, "state": {}}

    def reload(self) -> Event:
        self.reloads += 1
        return {"type": "reload", "ok": True, "generation": self.reloads}


@pytest.fixture()
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "control.sock"


@pytest.fixture()
def server(sock_path: Path) -> Iterator[ControlServer]:
    fakes = Fakes()
    srv = ControlServer(sock_path, fakes.status, fakes.reload)
    srv.start()
    yield srv
    srv.stop()


def test_subscribe_gets_the_status_then_the_events_in_order(server: ControlServer) -> None:
    sub = subscribe(server.path, timeout=3)
    it = iter(sub)
    assert next(it) == {"type": "status", "pid": 1, "state": {}}
    wait_until(lambda: server.subscribers == 1)
    for i in range(50):
        server.publish({"type": "tick", "n": i})
    got = [next(it) for _ in range(50)]
    assert [e["n"] for e in got] == list(range(50))
    sub.close()
    wait_until(lambda: server.subscribers == 0)


def test_subscription_closed_from_another_thread_ends_the_iteration(server: ControlServer) -> None:
    sub = subscribe(server.path)
    seen: list[Event] = []
    reader = threading.Thread(target=lambda: seen.extend(sub), daemon=True)
    reader.start()
    wait_until(lambda: len(seen) == 1)
    sub.close()
    reader.join(3)
    assert not reader.is_alive() and seen[0]["type"] == "status"


def test_a_folded_status_and_the_events_after_it_never_overlap(sock_path: Path) -> None:
    """The daemon's live state is folded under the publish lock: every event is either in the
    subscriber's status snapshot or comes after it, never both, never neither."""
    live = LiveState()
    srv = ControlServer(
        sock_path,
        lambda: {"type": "status", "state": live.snapshot()},
        lambda: {},
        fold=live.apply,
    )
    srv.start()
    stop = threading.Event()

    def publisher() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            srv.publish({"type": "call_rejected", "n": n})
            time.sleep(0.0002)

    t = threading.Thread(target=publisher)
    t.start()
    time.sleep(0.05)
    sub = subscribe(sock_path)
    status = next(sub)
    time.sleep(0.05)
    stop.set()
    t.join()
    counted = status["state"]["counters"]["rejected"]
    total = live.counters["rejected"]
    later = [next(sub)["n"] for _ in range(total - counted)]
    sub.close()
    srv.stop()
    assert 0 < counted < total  # the subscription came in the middle of the stream
    assert later == list(range(counted + 1, total + 1))


def test_request_reload_and_status(server: ControlServer) -> None:
    first = request(server.path, {"cmd": "reload"})
    assert first == {"type": "reload", "ok": True, "generation": 1}
    assert request(server.path, {"cmd": "reload"})["generation"] == 2
    assert request(server.path, {"cmd": "status"})["type"] == "status"


def test_bad_json_and_unknown_commands_get_an_error_line_and_the_connection_lives_on(
    server: ControlServer,
) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(3)
        s.connect(str(server.path))
        f = s.makefile("rb")
        s.sendall(b"this is not json\n")
        bad = json.loads(f.readline())
        assert bad["type"] == "error" and "not JSON" in bad["message"]
        s.sendall(b'{"cmd": "explode"}\n[1, 2]\n')
        assert "unknown command 'explode'" in json.loads(f.readline())["message"]
        assert json.loads(f.readline())["type"] == "error"
        s.sendall(b'{"cmd": "status"}\n')
        assert json.loads(f.readline())["type"] == "status"
        f.close()


def test_a_failing_callable_is_an_error_line(sock_path: Path) -> None:
    def broken() -> Event:
        raise RuntimeError("boom")

    srv = ControlServer(sock_path, broken, broken)
    srv.start()
    try:
        answer = request(sock_path, {"cmd": "reload"})
        assert answer["type"] == "error" and "boom" in answer["message"]
    finally:
        srv.stop()


def test_missing_socket_means_the_daemon_is_not_running(sock_path: Path) -> None:
    with pytest.raises(ControlError, match="not running") as err:
        request(sock_path, {"cmd": "status"})
    assert str(sock_path) in err.value.message and err.value.code == "control"
    with pytest.raises(ControlError, match="not running"):
        subscribe(sock_path)


def test_a_stale_socket_is_replaced_and_a_live_one_refused(sock_path: Path) -> None:
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(sock_path))  # a daemon that died: the file stays, nobody listens
    dead.close()
    assert sock_path.exists()
    with pytest.raises(ControlError, match="not running"):
        request(sock_path, {"cmd": "status"})
    fakes = Fakes()
    srv = ControlServer(sock_path, fakes.status, fakes.reload)
    srv.start()
    try:
        assert oct(sock_path.stat().st_mode & 0o777) == oct(0o660)
        assert request(sock_path, {"cmd": "status"})["pid"] == 1
        with pytest.raises(ControlError, match="another voicebox daemon"):
            ControlServer(sock_path, fakes.status, fakes.reload).start()
        assert request(sock_path, {"cmd": "status"})["pid"] == 1  # the first one serves on
    finally:
        srv.stop()
    assert not sock_path.exists()


def test_a_subscriber_that_never_reads_does_not_block_publish(server: ControlServer) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as lazy:
        lazy.connect(str(server.path))
        lazy.sendall(b'{"cmd": "subscribe"}\n')  # and never reads a byte
        wait_until(lambda: server.subscribers == 1)
        payload = "x" * 200
        t0 = time.perf_counter()
        for i in range(10000):
            server.publish({"type": "tick", "n": i, "pad": payload})
        took = time.perf_counter() - t0
        assert took < 2.0, took
        wait_until(lambda: server.subscribers == 0)  # dropped
    # the server still serves others
    sub = subscribe(server.path)
    assert next(sub)["type"] == "status"
    wait_until(lambda: server.subscribers == 1)
    server.publish({"type": "tick", "n": -1})
    assert next(sub)["n"] == -1
    sub.close()


# -- what a reload may change -----------------------------------------------------------------


def test_restart_needed_lists_the_settings_that_cannot_change_live() -> None:
    running = load_config()
    new = load_config()
    new.assistants[0].greeting = "Hello from the new config."
    new.sip.max_calls = 2
    assert restart_needed(new, running) == []
    new.sip.port = 5070
    new.models.n_ctx = 4096
    new.speech.line_rate = 16000
    assert restart_needed(new, running) == ["models.n_ctx", "sip.port", "speech.line_rate"]
    live = live_config(new, running)
    assert live.sip.port == running.sip.port and live.models.n_ctx == running.models.n_ctx
    assert live.speech.line_rate == 8000
    assert live.assistants[0].greeting == "Hello from the new config." and live.sip.max_calls == 2


def test_a_reload_that_would_change_a_running_account_entry_is_refused() -> None:
    running = load_config()
    running.sip.accounts = [SipAccount(registrar="pbx", user="100", entry="sales")]
    new = load_config()
    new.assistants = [a for a in new.assistants if a.name != "sales"]
    for a in new.assistants:
        a.handoffs = [r for r in a.handoffs if r.target != "sales"]
    with pytest.raises(ConfigError) as err:
        live_config(new, running)
    assert any("sip.accounts[0].entry" in p for p in err.value.problems), err.value.problems


def test_problems_of_a_config_file(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(template_text("starter"))
    cfg, errors = problems(good)
    assert cfg is not None and errors == []
    data = yaml.safe_load(template_text("starter"))
    data["assistants"][0]["tools"].append("teleport")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    cfg, errors = problems(bad)
    assert cfg is None and len(errors) == 1 and "unknown tool 'teleport'" in errors[0]
    assert errors[0].startswith("assistants[0]")
    data["team"]["entry"] = "nobody"
    bad.write_text(yaml.safe_dump(data))
    cfg, errors = problems(bad)
    assert cfg is None and any("nobody" in e for e in errors), errors
    cfg, errors = problems(tmp_path / "missing.yaml")
    assert cfg is None and "missing.yaml" in errors[0]


def test_a_daemon_on_a_template_cannot_reload() -> None:
    d: Any = SimpleNamespace(config_file=None)
    assert reload_box(d) == {"type": "reload", "ok": False, "errors": [TEMPLATE_ONLY]}


def test_voicebox_run_reads_the_box_config_file_when_there_is_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = tmp_path / "voicebox.yaml"
    monkeypatch.setenv("VOICEBOX_CONFIG", str(box))
    args = argparse.Namespace(config=None)
    assert config_file(args) is None and args.config is None  # no file: the starter template
    box.write_text(template_text("starter"))
    assert config_file(args) == box.resolve() and args.config == str(box)
    assert config_file(argparse.Namespace(config="trade")) is None
    assert config_file(argparse.Namespace(config=str(box))) == box.resolve()
