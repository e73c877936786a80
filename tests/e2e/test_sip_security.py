"""What an attacker on the line tries: a caller's REFER that would make the box dial out on its
own account (toll fraud), and a flood of INVITEs the box turns away (memory that grows per call).
The attacker is a hand-written UDP user agent (rawsip.py); the box is `voicebox run` on the 135M
model, registered at kamailio (small_box) or in peer mode."""

from __future__ import annotations

import gc
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rawsip import Msg, RawUA
from sipkit import Kamailio, Proc, box_config, start_box

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def peer_box(sipdir: Path) -> Iterator[Proc]:
    """A peer-mode box (no PBX) that only 127.0.0.1 may call."""
    cfg = box_config(sipdir / "peer.yaml", None, allow=["127.0.0.1/32"])
    proc = start_box(cfg, sipdir, llm="smollm2-135m", name="peer")
    yield proc
    proc.stop()


def box_port(box: Proc) -> int:
    return int(next(e for e in box.of("ready"))["address"].rsplit(":", 1)[1])


def invites(msgs: list[Msg]) -> list[str]:
    return [m.first for m in msgs if m.method == "INVITE"]


def refer_is_refused(box: Proc, caller: RawUA, outside: RawUA, uri: str, via: tuple[str, int],
                     refer_to: str) -> None:  # fmt: skip
    """The caller calls `uri` through `via`, asks the box to transfer it to `refer_to` (which
    reaches `outside`), and goes on talking."""
    mark = box.mark()
    d, answer = caller.invite(uri, via)
    assert answer.code == 200, answer.first
    box.wait_for(lambda e: e["type"] == "call_connected", 10, since=mark)
    status = caller.refer(d, refer_to)
    arrived = outside.listen(4.0)  # the box would dial at once; 4 s is plenty on loopback
    assert not invites(arrived), f"the box dialled out for the caller: {invites(arrived)}"
    assert status.code == 603, status.first
    refused = box.wait_for(lambda e: e["type"] == "transfer_refused", 5, since=mark)
    assert refused["to"].strip("<>") == refer_to and refused["call"].startswith("c"), refused
    assert refused["source"].startswith("127.0.0.1"), refused
    # the call went on: the box still has it, and its dialog takes the caller's BYE (a 481
    # would mean the dialog was gone)
    assert not box.of("call_ended", mark) and not box.of("call_end", mark)
    bye = caller.request(d, "BYE")
    assert bye.code == 200, bye.first
    ended = box.wait_for(lambda e: e["type"] == "call_ended", 10, since=mark)
    assert ended["duration_s"] >= 4, ended


def test_refer_from_a_caller_through_the_pbx_is_refused(
    small_box: Proc, kamailio: Kamailio
) -> None:
    """Refer-To an extension the PBX would connect (201, registered by the attacker's socket):
    today's pjsua accepts the REFER and dials it on the box's account."""
    pbx = ("127.0.0.1", kamailio.port)
    outside, caller = RawUA(user="201"), RawUA()
    try:
        assert outside.register(pbx, "201", "secret201", expires=60) == 200
        refer_is_refused(small_box, caller, outside, f"sip:101@{kamailio.host}", pbx,
                         f"sip:201@{kamailio.host}")  # fmt: skip
    finally:
        outside.register(pbx, "201", "secret201", expires=0)
        outside.close()
        caller.close()


def test_refer_in_peer_mode_is_refused(peer_box: Proc) -> None:
    """Refer-To a SIP address outside (a socket on another loopback port)."""
    port = box_port(peer_box)
    outside, caller = RawUA(), RawUA()
    try:
        target = f"sip:0900123456@127.0.0.1:{outside.addr[1]}"
        refer_is_refused(peer_box, caller, outside, f"sip:frontdesk@127.0.0.1:{port}",
                         ("127.0.0.1", port), target)  # fmt: skip
    finally:
        outside.close()
        caller.close()


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def add(total: dict[int, int], more: dict[int, int]) -> None:
    for code, n in more.items():
        total[code] = total.get(code, 0) + n


FLOOD = 3000


def test_an_invite_flood_neither_crashes_nor_grows_the_daemon(peer_box: Proc) -> None:
    """3000 INVITEs in batches of 50 every 0.1 s from an address that may not call, as a
    scanner sends them. The box used to answer each 403 at once, and pjlib, out of socket
    handles (each call opens two media sockets; a closed one's handle is reused 0.5 s later),
    aborted the daemon within a few dozen. Now the refused calls are held 0.25 s, pjsua's own
    call limit turns the rest away (486) before it opens sockets, and memory stays flat."""
    from appliance.sip.switchboard import REJECT_HOLD_S

    port = box_port(peer_box)
    uri, to = f"sip:frontdesk@127.0.0.1:{port}", ("127.0.0.1", port)
    scanner = RawUA(bind="127.0.0.2")
    pid = peer_box.proc.pid
    try:
        warm = scanner.blast(uri, to, 100)  # warm-up: pools and caches reach their size
        assert peer_box.proc.poll() is None, warm
        time.sleep(3)
        before = rss_kb(pid)
        mark = peer_box.mark()
        t0 = time.monotonic()
        codes = scanner.blast(uri, to, FLOOD)
        took = time.monotonic() - t0
        time.sleep(3)
        alive = peer_box.proc.poll() is None
        after = rss_kb(pid) if alive else 0
    finally:
        scanner.close()
    print(
        f"\n{FLOOD} INVITEs in {took:.1f} s: {codes}; daemon RSS {before} -> {after} kB "
        f"({(after - before) / 1024:+.1f} MB)"
    )
    assert alive, f"the daemon died in the flood: {codes}"
    assert codes.get(403, 0) >= 1 and set(codes) <= {403, 486, 0}, codes
    assert codes.get(0, 0) <= FLOOD // 10, codes  # nearly every INVITE got its answer
    assert codes[403] <= 4 / REJECT_HOLD_S * (took + 2), codes  # 4 slots, each held 0.25 s
    refused = [e for e in peer_box.of("call_rejected", mark) if e["code"] == 403]
    assert len(refused) == codes[403]
    assert after - before < 4 * 1024, (before, after)
    # a caller that may call is answered again once the flood is over
    caller = RawUA()
    try:
        d, answer = caller.invite(uri, to)
        assert answer.code == 200, answer.first
        assert caller.request(d, "BYE").code == 200
    finally:
        caller.close()


def test_the_graveyard_keeps_only_calls_whose_id_is_not_idle(sipdir: Path) -> None:
    """20 s of a scanner's bursts of INVITEs against a switchboard in this process: the refused
    calls' objects are dropped once their pjsua call id is idle, so the graveyard holds the last
    seconds' calls, not all of them (it used to keep every one until shutdown). Under a flood
    that never pauses the ids are never idle and the calls wait (see SipEndpoint.graveyard)."""
    import yaml

    from appliance.config import parse_config, template_text
    from appliance.sip.endpoint import BURY_GRACE_S, REAP_EVERY_S, SipEndpoint
    from appliance.sip.switchboard import REJECT_HOLD_S, Switchboard

    data = yaml.safe_load(template_text("starter"))
    data["sip"] = {"allow": ["127.0.0.1/32"]}
    cfg = parse_config(data)
    events: list[dict[str, Any]] = []

    def no_session(meta: Any) -> Any:
        raise AssertionError("a rejected caller got a session")

    ep = SipEndpoint(bind="127.0.0.1", port=0)
    ep.start()
    board = Switchboard(ep, cfg, no_session, lambda ev: events.append(ev.to_wire()))
    ep.on_stop.append(board.stop)
    scanner = RawUA(bind="127.0.0.2")
    codes: dict[int, int] = {}
    try:
        ep.run(board.start)
        port = ep.address()[1]
        peak = 0
        t_end = time.monotonic() + 20
        while time.monotonic() < t_end:
            add(codes, scanner.blast(f"sip:x@127.0.0.1:{port}", ("127.0.0.1", port), 20,
                                     per_batch=20, wait_s=0.5))  # fmt: skip
            peak = max(peak, ep.run(lambda: len(ep.graveyard)))
            time.sleep(0.7)  # bursts: the call slots go idle between them
        time.sleep(BURY_GRACE_S + 1.5)
        left = ep.run(lambda: len(ep.graveyard))
    finally:
        scanner.close()
        ep.stop()
        board.pool.shutdown(wait=False)
        gc.collect()
    print(
        f"\n{codes}; graveyard: peak {peak}, after {BURY_GRACE_S + 1.5} s idle {left}; "
        f"max RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} kB"
    )
    rejected = codes.get(403, 0)
    assert rejected >= 60 and set(codes) <= {403, 486, 0}, codes
    assert sum(e["type"] == "call_rejected" and e["code"] == 403 for e in events) == rejected
    assert left == 0
    assert peak <= 4 * (BURY_GRACE_S + 2 * REAP_EVERY_S + 1) / 0.9, peak  # 4 a burst
    assert REJECT_HOLD_S < 0.7
