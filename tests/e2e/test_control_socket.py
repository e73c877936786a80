"""The daemon's control socket on a real box (`voicebox run --control`, the 135M model, registered
at kamailio): live events while a call happens, and a config reload during a call that neither
drops the call nor reaches it, while the next call gets the new config."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sipkit import GREETING_MS, Kamailio, Proc, Wavs, silence_wav, start_call

from appliance.daemon.control_server import Subscription, request, subscribe

pytestmark = pytest.mark.e2e
Event = dict[str, Any]


class Watcher:
    """A subscriber in a thread: every event with the time this process read it."""

    def __init__(self, sock: Path) -> None:
        self.sub: Subscription = subscribe(sock, timeout=10)
        self.status = self.sub.status
        self.events: list[tuple[float, Event]] = []
        self._cv = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for ev in self.sub:
            with self._cv:
                self.events.append((time.monotonic(), ev))
                self._cv.notify_all()

    def wait_for(self, pred: Callable[[Event], bool], timeout: float) -> tuple[float, Event]:
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for seen, ev in self.events:
                    if pred(ev):
                        return seen, ev
                left = deadline - time.monotonic()
                if left <= 0:
                    kinds = [e["type"] for _, e in self.events[-15:]]
                    raise AssertionError(f"no matching event in {timeout} s; last: {kinds}")
                self._cv.wait(min(left, 0.5))

    def of(self, etype: str, call: str | None = None) -> list[Event]:
        with self._cv:
            return [
                e for _, e in self.events
                if e["type"] == etype and (call is None or e.get("call") == call)
            ]  # fmt: skip

    def close(self) -> None:
        self.sub.close()
        self._thread.join(5)


@pytest.fixture()
def watcher(control_box: tuple[Proc, Path]) -> Iterator[Watcher]:
    w = Watcher(control_box[1])
    yield w
    w.close()


@pytest.fixture()
def config_file(control_box: tuple[Proc, Path]) -> Iterator[Path]:
    """The box's config file; put back (and reloaded) after the test."""
    path = Path(request(control_box[1], {"cmd": "status"})["config"])
    original = path.read_text()
    yield path
    if path.read_text() != original:
        path.write_text(original)
        assert request(control_box[1], {"cmd": "reload"}, timeout=120)["ok"]


def greeting_of(w: Watcher, call: str) -> str:
    _, ev = w.wait_for(
        lambda e: e["type"] == "audio_start" and e.get("call") == call and e["kind"] == "greeting",
        20,
    )
    return str(ev["text"])


def test_a_subscriber_sees_the_call_live_and_status_lists_it(
    control_box: tuple[Proc, Path], watcher: Watcher, kamailio: Kamailio, sipdir: Path
) -> None:
    box, sock = control_box
    status = watcher.status
    assert status["type"] == "status" and status["pid"] == box.proc.pid
    assert status["config"].endswith("control.yaml") and status["peer_mode"] is False
    assert status["models"]["llm"] == "smollm2-135m" and status["models"]["rss_mb"] > 50
    account = status["state"]["accounts"]["sip:103@127.0.0.1"]
    assert account["state"] == "registered"
    calls_before = status["state"]["counters"]["calls"]

    caller = start_call(
        f"sip:103@{kamailio.host}", silence_wav(sipdir, 7), sipdir / "control-live.wav",
        "--tail", "0", log=sipdir / "control-live.log",
    )  # fmt: skip
    calling = caller.wait_for(lambda e: e["type"] == "calling", 30)
    sent = caller.seen_at(calling)
    seen, incoming = watcher.wait_for(lambda e: e["type"] == "call_incoming", 10)
    assert seen - sent < 1.0, f"call_incoming {seen - sent:.3f} s after the INVITE"
    key = incoming["call"]
    watcher.wait_for(lambda e: e["type"] == "call_start" and e["call"] == key, 10)

    live = request(sock, {"cmd": "status"})["state"]
    call = live["calls"][key]
    assert call["state"] == "connected" and call["assistant"] == "frontdesk"
    assert "phone@" in call["caller"]
    assert call["timeline"][0]["text"] == "frontdesk answers"

    assert caller.wait_for(lambda e: e["type"] == "done", 30)["connected"]
    assert caller.finish() == 0
    watcher.wait_for(lambda e: e["type"] == "call_ended" and e["call"] == key, 20)
    after = request(sock, {"cmd": "status"})["state"]
    assert key not in after["calls"] and after["recent"][-1]["call"] == key
    assert after["counters"]["calls"] == calls_before + 1


def test_reload_during_a_call_keeps_it_and_the_next_call_gets_the_new_config(
    control_box: tuple[Proc, Path],
    watcher: Watcher,
    config_file: Path,
    kamailio: Kamailio,
    wavs: Wavs,
    sipdir: Path,
) -> None:
    _box, sock = control_box
    generation = watcher.status["generation"]
    data = yaml.safe_load(config_file.read_text())
    old_greeting = data["assistants"][0]["greeting"]
    # the caller speaks after the reload: the reply comes from the profile the call started on
    wav = wavs.script(
        "control-reload", [(GREETING_MS + 2500, "Hi, what are your opening hours on Saturday?")],
        3000,
    )  # fmt: skip
    first = start_call(
        f"sip:103@{kamailio.host}", wav, sipdir / "control-reload-heard.wav", "--tail", "0",
        log=sipdir / "control-reload.log",
    )  # fmt: skip
    _, incoming = watcher.wait_for(lambda e: e["type"] == "call_incoming", 30)
    key1 = incoming["call"]
    assert greeting_of(watcher, key1) == old_greeting

    new_greeting = "Thanks for calling the new front desk. How may I help?"
    data["assistants"][0]["greeting"] = new_greeting
    data["assistants"][0]["system_prompt"] += "\nAlways mention our new opening hours."
    data["sip"]["max_calls"] = 3  # applies live
    data["sip"]["codecs"] = ["PCMA", "PCMU"]  # needs a restart
    config_file.write_text(yaml.safe_dump(data, sort_keys=False))
    t0 = time.monotonic()
    reply = request(sock, {"cmd": "reload"}, timeout=120)
    took, reloaded_at = time.monotonic() - t0, time.time()
    assert reply["ok"] is True, reply
    assert reply["generation"] == generation + 1 and reply["calls_in_progress"] == 1
    assert reply["applies_to"] == "new calls" and reply["restart_needed"] == ["sip.codecs"]
    _, reloaded = watcher.wait_for(lambda e: e["type"] == "config_reloaded", 5)
    assert reloaded["generation"] == generation + 1
    assert first.proc.poll() is None, "the call in progress goes on"

    # the call in progress reaches its normal end: the caller is heard, answered, hangs up
    end = watcher.wait_for(lambda e: e["type"] == "call_end" and e["call"] == key1, 60)[1]
    assert end["reason"] == "caller hung up", end
    assert first.wait_for(lambda e: e["type"] == "done", 30)["connected"]
    assert first.finish() == 0
    ended = watcher.wait_for(lambda e: e["type"] == "call_ended" and e["call"] == key1, 10)[1]
    assert ended["code"] == 200, ended
    utterances = watcher.of("utterance", key1)
    heard = " ".join(u["text"] for u in utterances).lower()  # "Hi." may come on its own
    # the caller was heard; the test is about the reload, not the ASR: whisper tiny heard
    # "Saturday" as "setter day" and "opening hours" as "opening ours" in CI, so one of
    # the question's words is enough
    assert any(word in heard for word in ("opening", "hours", "saturday")), utterances
    replies = [e for e in watcher.of("reply", key1) if e["turn"] > 0]  # not the greeting
    assert replies and replies[0]["assistant"] == "frontdesk" and replies[0]["wall"] > reloaded_at
    assert not watcher.of("error", key1)

    second = start_call(
        f"sip:103@{kamailio.host}", silence_wav(sipdir, 4), sipdir / "control-next.wav",
        "--tail", "0", log=sipdir / "control-next.log",
    )  # fmt: skip
    _, incoming = watcher.wait_for(lambda e: e["type"] == "call_incoming" and e["call"] != key1, 30)
    assert greeting_of(watcher, incoming["call"]) == new_greeting
    assert request(sock, {"cmd": "status"})["generation"] == generation + 1
    assert second.wait_for(lambda e: e["type"] == "done", 30)["connected"]
    second.stop()
    print(f"reload took {took:.2f} s")


def test_an_invalid_config_is_refused_and_the_box_runs_on(
    control_box: tuple[Proc, Path],
    watcher: Watcher,
    config_file: Path,
    kamailio: Kamailio,
    sipdir: Path,
) -> None:
    box, sock = control_box
    generation = watcher.status["generation"]
    data = yaml.safe_load(config_file.read_text())
    greeting = data["assistants"][0]["greeting"]
    data["assistants"][0]["tools"].append("teleport")
    data["assistants"][0]["greeting"] = "You should never hear this."
    config_file.write_text(yaml.safe_dump(data, sort_keys=False))
    reply = request(sock, {"cmd": "reload"}, timeout=60)
    assert reply["ok"] is False and reply["type"] == "reload"
    assert any("teleport" in e and e.startswith("assistants[0]") for e in reply["errors"]), reply

    config_file.write_text("team: [this is not\n")
    reply = request(sock, {"cmd": "reload"}, timeout=60)
    assert reply["ok"] is False and reply["errors"], reply

    assert box.proc.poll() is None
    assert request(sock, {"cmd": "status"})["generation"] == generation
    assert not watcher.of("config_reloaded")
    caller = start_call(
        f"sip:103@{kamailio.host}", silence_wav(sipdir, 4), sipdir / "control-invalid.wav",
        "--tail", "0", log=sipdir / "control-invalid.log",
    )  # fmt: skip
    _, incoming = watcher.wait_for(lambda e: e["type"] == "call_incoming", 30)
    assert greeting_of(watcher, incoming["call"]) == greeting
    assert caller.wait_for(lambda e: e["type"] == "done", 30)["connected"]
    caller.stop()
