"""The box's live picture folded from its events: accounts, calls in progress with a short
timeline each, counters since the daemon started. The daemon keeps one for `status`; the TUI
rebuilds one from a status snapshot and folds the events that follow with the same code.

It folds the wire form (the control socket's JSON lines, which is all the TUI has); the
handlers are keyed by the event classes' types, so a renamed event cannot go unnoticed."""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from appliance.call_events import CallEnd, CallStart, Heard
from appliance.daemon.events import ConfigReloaded, Ready
from appliance.events import AssistantReply, HandoffStarted
from appliance.sip.events import (
    CallConnected,
    CallDialing,
    CallEnded,
    CallIncoming,
    CallOverflow,
    CallRejected,
    RegistrationResult,
    TransferDone,
    TransferFailed,
    TransferStart,
)
from appliance.tools.events import HumanRequested

_LOGGER = logging.getLogger(__name__)
Event = dict[str, Any]
COUNTERS = ("calls", "handoffs", "transfers", "rejected", "overflow")
TIMELINE_MAX = 50  # entries kept per call
RECENT_MAX = 20  # ended calls kept


class LiveState:
    """Accounts, calls and counters of a running box (thread-safe; `apply` never raises)."""

    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.recent: list[dict[str, Any]] = []  # ended calls, newest last
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.config_generation = 0
        self.max_calls = 0  # the box's call slots (sip.max_calls, from `ready`; 0: unknown)
        self._lock = threading.RLock()
        self._handlers: dict[str, Callable[[Event, float], None]] = {
            Ready.type: self._ready,
            RegistrationResult.type: self._registration,
            CallIncoming.type: self._incoming,
            CallDialing.type: self._dialing,
            CallConnected.type: self._connected,
            CallStart.type: self._call_start,
            HandoffStarted.type: self._handoff,
            HumanRequested.type: self._to_person,
            TransferStart.type: self._to_person,
            TransferDone.type: self._transfer_done,
            TransferFailed.type: self._transfer_failed,
            Heard.type: self._utterance,
            AssistantReply.type: self._reply,
            CallEnded.type: self._call_ended,
            CallEnd.type: self._call_end,
            CallRejected.type: lambda ev, wall: self._count("rejected"),
            CallOverflow.type: lambda ev, wall: self._count("overflow"),
            ConfigReloaded.type: self._reloaded,
        }

    # -- folding ----------------------------------------------------------------------------

    def apply(self, ev: Event) -> None:
        """Fold one event in; unknown events are ignored, malformed ones too (logged)."""
        if not isinstance(ev, dict):
            return
        handler = self._handlers.get(str(ev.get("type")))
        if handler is None:
            return
        try:
            wall = float(ev.get("wall") or time.time())
            with self._lock:
                handler(ev, wall)
        except Exception as err:  # a malformed event must never hurt the daemon or the TUI
            _LOGGER.debug("live state: ignored malformed %s event: %s", ev.get("type"), err)

    def _count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def _call(self, ev: Event) -> dict[str, Any] | None:
        return self.calls.get(str(ev["call"]))

    def _note(self, call: dict[str, Any] | None, wall: float, kind: str, text: str) -> None:
        if call is None:
            return
        line = call["timeline"]
        if line and line[-1]["text"] == text:
            return  # human_requested then transfer_start: one entry
        line.append({"wall": wall, "kind": kind, "text": text})
        del line[:-TIMELINE_MAX]

    def _gone(self, key: str) -> bool:
        return any(r["call"] == key for r in self.recent)

    def _open(self, ev: Event, wall: float, caller: str, state: str, sip: bool) -> None:
        key = str(ev["call"])
        if key in self.calls or self._gone(key):
            return
        self.calls[key] = {
            "call": key,
            "caller": caller,
            "assistant": str(ev.get("assistant", "")),
            "state": state,
            "started": wall,
            "sip": sip,
            "timeline": [],
            "path": [str(ev["assistant"])] if ev.get("assistant") else [],
            "last_heard": "",
            "last_said": "",
            "legs": 1 if sip else 0,  # SIP call slots it holds: 2 while a person is called
        }
        self._count("calls")

    def _ready(self, ev: Event, wall: float) -> None:
        self.max_calls = int(ev.get("max_calls") or 0)

    def _registration(self, ev: Event, wall: float) -> None:
        self.accounts[str(ev["account"])] = {
            "state": str(ev["state"]),
            "code": ev.get("code"),
            "reason": ev.get("reason", ""),
            "retry_in_s": ev.get("retry_in_s"),
            "wall": wall,
        }

    def _incoming(self, ev: Event, wall: float) -> None:
        self._open(ev, wall, str(ev.get("caller", "")), "ringing", True)

    def _dialing(self, ev: Event, wall: float) -> None:
        self._open(ev, wall, str(ev.get("uri", "")), "ringing", True)

    def _connected(self, ev: Event, wall: float) -> None:
        call = self._call(ev)
        if call is not None and call["state"] == "ringing":
            call["state"] = "connected"

    def _call_start(self, ev: Event, wall: float) -> None:
        self._open(ev, wall, "", "connected", False)  # a call without SIP (tests, console)
        call = self._call(ev)
        if call is not None:
            call["assistant"] = str(ev.get("assistant") or call["assistant"])
            call["path"] = call["path"] or [call["assistant"]]
            self._note(call, wall, "start", f"{call['assistant']} answers")

    def _handoff(self, ev: Event, wall: float) -> None:
        call = self._call(ev)
        if call is None:
            return
        src, dst = str(ev["from"]), str(ev["to"])
        call["assistant"] = dst
        call["path"].append(dst)
        self._count("handoffs")
        self._note(call, wall, "handoff", f"{src} -> {dst}")

    def _to_person(self, ev: Event, wall: float) -> None:
        call, human = self._call(ev), str(ev["human"])
        if call is not None:
            call["state"] = "transferring"
            if ev.get("type") == TransferStart.type and ev.get("mode") == "warm" and call["sip"]:
                call["legs"] = 2  # the box calls the person on a second leg
            self._note(call, wall, "transfer", f"to a person: {human}")

    def _transfer_done(self, ev: Event, wall: float) -> None:
        call, human = self._call(ev), str(ev["human"])
        self._count("transfers")
        if call is not None:
            call["state"] = "transferring"
            call["path"].append(human)
            mode = f" ({ev['mode']})" if ev.get("mode") else ""
            self._note(call, wall, "transfer_done", f"transferred to {human}{mode}")

    def _transfer_failed(self, ev: Event, wall: float) -> None:
        call, human = self._call(ev), str(ev["human"])
        if call is not None:
            call["state"] = "connected"
            call["legs"] = min(int(call.get("legs", 0)), 1)  # the person's leg is gone
            why = f": {ev['reason']}" if ev.get("reason") else ""
            self._note(call, wall, "transfer_failed", f"transfer to {human} failed{why}")

    def _utterance(self, ev: Event, wall: float) -> None:
        call = self._call(ev)
        if call is not None:
            call["last_heard"] = str(ev["text"])

    def _reply(self, ev: Event, wall: float) -> None:
        call = self._call(ev)
        if call is not None:
            call["last_said"] = str(ev["text"])

    def _close(self, key: str, wall: float, reason: str) -> None:
        call = self.calls.pop(key, None)
        if call is None:
            return
        self.recent.append(
            {
                "call": key,
                "caller": call["caller"],
                "assistant": call["assistant"],
                "started": call["started"],
                "ended": wall,
                "reason": reason,
            }
        )
        del self.recent[:-RECENT_MAX]

    def _call_ended(self, ev: Event, wall: float) -> None:
        if ev.get("leg") == "human":  # the person's leg ended; the caller's may go on
            call = self._call(ev)
            if call is not None:
                call["legs"] = min(int(call.get("legs", 0)), 1)
            return
        self._close(str(ev["call"]), wall, f"{ev.get('code', '')} {ev.get('reason', '')}".strip())

    def _call_end(self, ev: Event, wall: float) -> None:
        call = self._call(ev)
        if call is not None and not call["sip"]:
            self._close(call["call"], wall, str(ev.get("reason", "")))

    def _reloaded(self, ev: Event, wall: float) -> None:
        self.config_generation = int(ev["generation"])

    # -- snapshots --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything, as plain JSON-able data (a copy)."""
        with self._lock:
            return copy.deepcopy(
                {
                    "accounts": self.accounts,
                    "calls": self.calls,
                    "recent": self.recent,
                    "counters": self.counters,
                    "config_generation": self.config_generation,
                    "slots": self.slots(),
                }
            )

    def slots(self) -> dict[str, int]:
        """SIP calls, the extra legs transfers hold, and call slots used of `max` (0: unknown):
        a warm transfer the box bridges keeps two slots until the call ends."""
        with self._lock:
            sip = [c for c in self.calls.values() if c.get("sip")]
            used = sum(int(c.get("legs", 1)) for c in sip)
            return {
                "calls": len(sip),
                "transfer_legs": used - len(sip),
                "used": used,
                "max": self.max_calls,
            }

    @classmethod
    def from_snapshot(cls, d: dict[str, Any]) -> LiveState:
        """Rebuild from `snapshot()` output (missing or malformed parts are left empty)."""
        s = cls()
        if not isinstance(d, dict):
            return s
        data = copy.deepcopy(d)
        if isinstance(data.get("accounts"), dict):
            s.accounts = data["accounts"]
        calls = data.get("calls")
        if isinstance(calls, dict):
            s.calls = {
                str(k): {
                    **v,
                    "timeline": list(v.get("timeline") or []),
                    "path": list(v.get("path") or []),
                }
                for k, v in calls.items()
                if isinstance(v, dict) and "call" in v
            }
        if isinstance(data.get("recent"), list):
            s.recent = [r for r in data["recent"] if isinstance(r, dict) and "call" in r]
        counters = data.get("counters")
        if isinstance(counters, dict):
            s.counters.update({k: int(v) for k, v in counters.items() if isinstance(v, int)})
        if isinstance(data.get("config_generation"), int):
            s.config_generation = data["config_generation"]
        slots = data.get("slots")
        if isinstance(slots, dict) and isinstance(slots.get("max"), int):
            s.max_calls = slots["max"]
        return s


def slots_line(slots: dict[str, Any]) -> str:
    """The dashboard's "calls 1 (+1 transfer leg), slots 2/4" from `LiveState.slots()`."""
    calls, extra = int(slots.get("calls", 0)), int(slots.get("transfer_legs", 0))
    legs = f" (+{extra} transfer leg{'s' if extra != 1 else ''})" if extra else ""
    most = int(slots.get("max", 0))
    return f"calls {calls}{legs}, slots {slots.get('used', calls + extra)}/{most or '?'}"
