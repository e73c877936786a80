"""Transfers to people: blind (REFER) and warm (call the person, brief them with a short clip,
then connect the caller). A warm transfer finishes attended where the caller's phone takes it (a
REFER whose Refer-To replaces the consultation call: the caller's phone calls the person, the
person's phone swaps the calls, the box leaves both) and otherwise bridges the two calls in the box
(two of its call slots until the call ends). A mixin of the switchboard; everything runs on the
SIP thread."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from appliance.audio.pcm import Samples
from appliance.config import Config
from appliance.config.sip import Sip, SipAccount
from appliance.sip.calls import SipCall, op
from appliance.sip.endpoint import SipEndpoint
from appliance.sip.events import (
    CallEnded,
    TransferDone,
    TransferFailed,
    TransferFinish,
    TransferRefer,
    TransferStart,
)
from appliance.sip.legs import CallLegs, Report
from appliance.sip.media import LinePort

_LOGGER = logging.getLogger(__name__)
REFER_TIMEOUT_S = 8.0  # an attended transfer not done by then is bridged instead


def _header_values(msg: str, *names: str) -> list[str]:
    """Comma-separated values of every header line called one of `names` (lower case)."""
    alt = "|".join(re.escape(n) for n in names)
    lines = re.findall(rf"^(?:{alt})[ \t]*:(.*?)\r?$", msg, re.M | re.I)
    return [v.strip().lower() for line in lines for v in line.split(",") if v.strip()]


def offers_replaces(invite: str) -> bool:
    """Whether a caller's INVITE says its phone can be handed on with an attended transfer:
    `replaces` in Supported (compact form k) and, when it lists its methods, REFER in Allow. A
    phone without Replaces would place a second, ordinary call to the person instead."""
    allow = _header_values(invite, "allow")
    return "replaces" in _header_values(invite, "supported", "k") and (
        not allow or "refer" in allow
    )


class _Player:
    """Frames of a fixed clip for a consultation leg; calls `done` once when they run out."""

    def __init__(self, frames: list[Samples], silence: Samples, done: Callable[[], None]):
        self.frames, self.silence, self.done, self.i = frames, silence, done, 0

    def next(self) -> Samples:
        self.i += 1
        if self.i <= len(self.frames):
            return self.frames[self.i - 1]
        if self.i == len(self.frames) + 1:
            self.done()
        return self.silence

    def heard(self, frame: Samples) -> None:
        pass


class TransferDesk:
    """The transfer half of the switchboard (see Switchboard for the attributes it shares)."""

    ep: SipEndpoint
    cfg: Config
    sip: Sip
    legs_by_key: dict[str, CallLegs]
    report: Report
    pool: ThreadPoolExecutor

    def _on_call(self, kind: str, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def _retire(self, legs: CallLegs) -> None:
        raise NotImplementedError

    def human_uri(self, name: str) -> str:
        """The SIP URI of a configured human extension ("" when there is no way to reach it)."""
        humans = self.cfg.team.human_extensions
        ext = next((h for h in humans if h.name == name), humans[0] if humans else None)
        if ext is None:
            return ""
        if "@" in ext.extension:
            return ext.extension if ext.extension.startswith("sip") else f"sip:{ext.extension}"
        acc: SipAccount | None = self.sip.accounts[0] if self.sip.accounts else None
        return f"sip:{ext.extension}@{acc.registrar}" if acc else ""

    def transfer(self, key: str, human: str, summary: str, clip: list[Samples]) -> None:
        """Hand the caller to a configured person: blind (REFER) or warm (call, brief, connect).
        `clip` is what the person hears before the caller is connected (warm only)."""

        def go() -> None:
            legs = self.legs_by_key.get(key)
            if legs is None or legs.session is None:
                return
            uri = self.human_uri(human)
            if not uri:
                self._transfer_failed(legs, human, "no way to reach that extension")
                return
            legs.human = human
            self.report(TransferStart(call=key, human=human, uri=uri, mode=self.sip.transfer))
            if self.sip.transfer == "blind":
                legs.call.xfer(uri, op())
                return
            self._warm(legs, uri, summary, clip)

        self.ep.call_soon(go)

    def _transfer_failed(self, legs: CallLegs, human: str, why: str) -> None:
        self.report(TransferFailed(call=legs.meta.key, human=human, reason=why))
        if legs.session is not None:
            self.pool.submit(legs.session.on_transfer, False, human, why)

    def _on_blind_status(self, legs: CallLegs, data: dict[str, Any]) -> None:
        """REFER progress: 202 is only "accepted"; the final NOTIFY tells how the new call went.
        The subscription is ended before our leg is: a NOTIFY arriving for a finished call would
        reach whatever call reuses its pjsua id."""
        if legs.finish == "referring":
            self._on_attended_status(legs, data)
            return
        if legs.finish:  # a late NOTIFY of an attended try that was bridged after all
            data["prm"].cont = False
            return
        code = data["code"]
        if code >= 300:
            data["prm"].cont = False
            self._transfer_failed(legs, legs.human, f"{code} {data['reason']}")
        elif data["final"] and code >= 200:
            data["prm"].cont = False
            self.report(TransferDone(call=legs.meta.key, human=legs.human, mode="blind"))
            legs.bridged = True  # the caller is the PBX's now
            if legs.session is not None:
                self.pool.submit(legs.session.on_transfer, True, legs.human, "blind")
            self.ep.call_later(0.1, legs.call.end)

    # -- warm transfer ----------------------------------------------------------------------

    def _warm(self, legs: CallLegs, uri: str, summary: str, clip: list[Samples]) -> None:
        headers = {self.sip.summary_header: summary[:200]} if self.sip.summary_header else {}
        consult = SipCall(legs.call.acc, handler=self._on_call)
        consult.tag = legs.meta.key
        legs.consult = consult
        legs.clip = clip
        try:
            consult.makeCall(uri, op(headers=headers))
        except Exception as err:
            legs.consult = None
            self._transfer_failed(legs, legs.human, f"cannot call {uri}: {err}")
            return
        started = time.monotonic()
        self.ep.call_later(self.sip.warm_timeout_s, lambda: self._warm_timeout(legs, started))

    def _warm_timeout(self, legs: CallLegs, started: float) -> None:
        c = legs.consult
        if c is not None and c.state in ("null", "calling", "early", "connecting"):
            legs.consult = None  # first: its "disconnected" is not a failure of its own
            self.ep.bury(c)
            c.end()
            self._transfer_failed(
                legs, legs.human, f"no answer in {time.monotonic() - started:.0f} s"
            )

    def _on_consult(self, legs: CallLegs, kind: str, data: dict[str, Any]) -> None:
        consult = data["call"]
        if kind == "media" and data["active"] and legs.consult_port is None:
            clip, legs.clip = legs.clip, []
            silence = np.zeros(self.ep.clock_rate // 50, dtype=np.float32)
            player = _Player(clip, silence, lambda: self.ep.call_soon(lambda: self._connect(legs)))
            legs.consult_port = LinePort(
                f"{legs.meta.key}x", self.ep.clock_rate, player.heard, player.next
            )
            consult.connect(legs.consult_port)
        elif kind == "state" and data["state"] == "disconnected":
            if legs.bridged or legs.finish == "referring":
                # the person hung up, or their phone swapped this leg for the caller's new call
                self.report(
                    CallEnded(
                        call=legs.meta.key,
                        leg="human",
                        code=data["code"],
                        reason=data["reason"],
                        duration_s=round(data["duration_s"], 2),
                    )
                )
                consult.disconnect_port()
                if legs.finish == "bridge":
                    legs.call.end()  # the caller was talking to the person through the box
            elif legs.consult is consult:
                legs.consult = None
                legs.consult_port = None
                self._transfer_failed(legs, legs.human, f"{data['code']} {data['reason']}")
            self._retire(legs)

    def _connect(self, legs: CallLegs) -> None:
        """The person was briefed: hand the caller over (attended) where the caller's phone can
        take it, else bridge."""
        if (
            legs.consult is None
            or legs.consult.state != "confirmed"
            or legs.call.state != "confirmed"
        ):
            return
        if self.sip.warm_finish == "bridge" or not legs.replaces:
            why = "configured" if self.sip.warm_finish == "bridge" else "no Replaces"
            self._bridge(legs, why)
            return
        legs.finish = "referring"
        try:
            legs.call.xferReplaces(legs.consult, op())
        except Exception as err:
            self._bridge(legs, f"REFER failed: {err}")
            return
        self.report(TransferRefer(call=legs.meta.key, human=legs.human))
        self.ep.call_later(REFER_TIMEOUT_S, lambda: self._refer_timeout(legs))

    def _on_attended_status(self, legs: CallLegs, data: dict[str, Any]) -> None:
        """How the REFER with Replaces went: refused or failed means bridge; the final 2xx NOTIFY
        (the caller's phone is talking to the person) means the box leaves."""
        code = data["code"]
        if code >= 300:
            data["prm"].cont = False
            self._bridge(legs, f"REFER answered {code} {data['reason']}")
        elif data["final"] and code >= 200:
            data["prm"].cont = False
            legs.finish, legs.bridged = "attended", True
            self._done(legs, "attended", "")
            # the caller's phone talks to the person now; ending our caller leg also ends the
            # consultation leg if the person's phone has not already (switchboard._on_state)
            self.ep.call_later(0.1, legs.call.end)

    def _refer_timeout(self, legs: CallLegs) -> None:
        if legs.finish == "referring":
            self._bridge(legs, f"no answer to the REFER in {REFER_TIMEOUT_S:.0f} s")

    def _bridge(self, legs: CallLegs, why: str) -> None:
        """Connect the caller with the person through the box's conference bridge."""
        c = legs.consult
        if c is None or c.state != "confirmed" or legs.call.state != "confirmed":
            legs.finish = ""
            if c is not None and c.state == "disconnected":  # the person's leg is gone
                self.ep.bury(c)  # kept (see SipEndpoint.graveyard), not deleted here
                legs.consult = legs.consult_port = None
            if legs.call.state == "confirmed" and not legs.bridged:
                self._transfer_failed(legs, legs.human, f"the person's call ended ({why})")
            return
        legs.call.bridge(c)
        legs.finish, legs.bridged = "bridge", True
        self._done(legs, "bridge", why)

    def _done(self, legs: CallLegs, mode: TransferFinish, why: str) -> None:
        _LOGGER.info("call %s: transferred to %s (%s%s)", legs.meta.key, legs.human, mode,
                     f": {why}" if why else "")  # fmt: skip
        self.report(TransferDone(call=legs.meta.key, human=legs.human, mode=mode, why=why or None))
        if legs.session is not None:
            self.pool.submit(legs.session.on_transfer, True, legs.human, mode)
