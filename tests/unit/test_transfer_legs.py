"""Call slots in the live state (a bridged warm transfer holds two legs until the call ends) and
the INVITE check that decides whether a warm transfer may end attended."""

from __future__ import annotations

from typing import Any

from appliance.daemon.live_state import LiveState, slots_line
from appliance.sip.transfers import offers_replaces


def fold(*events: dict[str, Any]) -> LiveState:
    s = LiveState()
    for ev in events:
        s.apply(ev)
    return s


READY = {"type": "ready", "address": "sip:frontdesk@10.0.0.2:5060", "max_calls": 4}
IN = {"type": "call_incoming", "call": "c1", "caller": "sip:201@pbx", "assistant": "frontdesk"}
WARM = {"type": "transfer_start", "call": "c1", "human": "reception", "mode": "warm"}


def test_a_bridged_warm_transfer_holds_two_slots_until_a_leg_ends() -> None:
    s = fold(READY, IN, {"type": "call_connected", "call": "c1"})
    assert s.slots() == {"calls": 1, "transfer_legs": 0, "used": 1, "max": 4}
    s.apply(WARM)  # the person's phone rings: a second leg already
    assert s.slots()["used"] == 2
    s.apply({"type": "transfer_done", "call": "c1", "human": "reception", "mode": "bridge"})
    assert s.slots() == {"calls": 1, "transfer_legs": 1, "used": 2, "max": 4}
    assert slots_line(s.snapshot()["slots"]) == "calls 1 (+1 transfer leg), slots 2/4"
    s.apply({"type": "call_ended", "call": "c1", "leg": "human", "code": 200})
    assert s.slots()["used"] == 1 and "c1" in s.calls
    s.apply({"type": "call_ended", "call": "c1", "code": 200})
    assert s.slots() == {"calls": 0, "transfer_legs": 0, "used": 0, "max": 4}


def test_an_attended_transfer_frees_both_slots_and_a_failed_one_frees_the_person_leg() -> None:
    s = fold(READY, IN, WARM)
    s.apply({"type": "call_ended", "call": "c1", "leg": "human", "code": 200})
    s.apply({"type": "transfer_done", "call": "c1", "human": "reception", "mode": "attended"})
    assert s.slots()["used"] == 1
    s.apply({"type": "call_ended", "call": "c1", "code": 200})
    assert s.slots()["used"] == 0 and s.counters["transfers"] == 1
    s = fold(READY, IN, WARM, {"type": "transfer_failed", "call": "c1", "human": "reception"})
    assert s.slots()["used"] == 1
    blind = {**WARM, "mode": "blind"}  # a REFER only: no leg of the box's own
    assert fold(READY, IN, blind).slots()["used"] == 1


def test_slots_survive_a_snapshot_and_calls_without_sip_hold_none() -> None:
    s = fold(READY, IN, WARM, {"type": "call_start", "call": "t1", "assistant": "sales"})
    again = LiveState.from_snapshot(s.snapshot())
    assert again.slots() == s.slots() == {"calls": 1, "transfer_legs": 1, "used": 2, "max": 4}
    assert slots_line(fold(IN).slots()) == "calls 1, slots 1/?"
    two = {"calls": 2, "transfer_legs": 2, "used": 4, "max": 4}
    assert slots_line(two) == "calls 2 (+2 transfer legs), slots 4/4"


INVITE = (
    "INVITE sip:100@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK1\r\n"
    "Allow: PRACK, INVITE, ACK, BYE, CANCEL, UPDATE, INFO, SUBSCRIBE, NOTIFY, REFER, MESSAGE\r\n"
    "Supported: replaces, 100rel, timer, norefersub\r\n"
    "Content-Length: 0\r\n\r\n"
)


def test_attended_only_for_a_phone_that_says_it_takes_replaces_and_refer() -> None:
    assert offers_replaces(INVITE)
    assert offers_replaces(INVITE.replace("Supported: replaces, 100rel", "k: 100rel,Replaces"))
    assert not offers_replaces(INVITE.replace("replaces, ", ""))
    assert not offers_replaces(INVITE.replace(" REFER,", ""))
    no_allow = "\r\n".join(x for x in INVITE.split("\r\n") if not x.startswith("Allow"))
    assert offers_replaces(no_allow)
