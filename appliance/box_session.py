"""One call on the box: a CallLoop plus the keypad, transfers to people and the hang-up rules.
A session keeps the config and engine it started with, whatever a reload brings meanwhile."""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from appliance.audio.pcm import Samples, split_frames
from appliance.call import CallLoop
from appliance.sip.switchboard import CallMeta
from appliance.tools import human as humans

if TYPE_CHECKING:
    from appliance.daemon import Daemon

_LOGGER = logging.getLogger(__name__)
HUMAN_TOOL = "transfer_to_human"
HOLD_EVERY_S = 7.0
SUMMARY_MAX = 200  # characters of the summary (spoken to the person, sent as a SIP header)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1, line separators


def header_safe(text: str, limit: int = SUMMARY_MAX) -> str:
    """One line fit for a SIP header value: every control character (CR, LF, NUL, the other C0
    and C1 ones, Unicode line separators) becomes a blank, blanks collapse, at most `limit`
    characters. A caller's words cannot end the header and start one of their own."""
    return " ".join(_CONTROL.sub(" ", text).split())[:limit].rstrip()


class BoxSession:
    """One call: a CallLoop plus the keypad, transfers to people and the hang-up rules."""

    def __init__(self, daemon: Daemon, meta: CallMeta) -> None:
        self.d = daemon
        self.meta = meta
        # the config and engine the call started with, whatever a reload brings meanwhile
        self.cfg = daemon.cfg
        self.engine = daemon.engine
        self.loop = CallLoop(
            self.engine,
            daemon.speech,
            assistant=meta.assistant,
            channel="sip",
            sink=self._sink,
            caller=meta.caller,
        )
        self.loop.intercept = self._intercept
        self.digits = ""
        self._digit_timer: threading.Timer | None = None
        self.transferring = False
        self.transferred = False

    # -- media (clock thread) ---------------------------------------------------------------

    def on_frame(self, frame: Samples) -> None:
        self.loop.push(frame)

    def next_frame(self) -> Samples:
        return self.loop.pull()

    # -- call events (worker pool) ----------------------------------------------------------

    def on_connected(self) -> None:
        self.loop.start(ears_thread=True)

    def on_ended(self, reason: str) -> None:
        self.loop.hangup(reason)

    def on_dtmf(self, digit: str) -> None:
        keys = self.cfg.sip.dtmf
        # the human key alone asks for a person, but "0049 ..." is a number being typed: wait
        # for the end key or the pause before deciding (humans.keypad_wants_person)
        if digit == keys.end_key and not (digit == keys.human_key and not self.digits):
            self._flush_digits()
            return
        self.digits += digit
        if self._digit_timer is not None:
            self._digit_timer.cancel()
        self._digit_timer = threading.Timer(keys.digits_timeout_ms / 1000, self._flush_digits)
        self._digit_timer.daemon = True
        self._digit_timer.start()

    def _flush_digits(self) -> None:
        if self._digit_timer is not None:
            self._digit_timer.cancel()
        digits, self.digits = self.digits, ""
        keys = self.cfg.sip.dtmf
        if humans.keypad_wants_person(digits, keys.human_key):
            self.loop.conv.record_turn(f"(pressed {digits} for a person)", "", "the human key")
            self.request_human(keys.human, "keypad")
        elif digits:
            self.loop.typed(digits)

    def on_transfer(self, ok: bool, human: str, detail: str) -> None:
        self.transferring = False
        self.loop.hold = False
        if ok:
            self.transferred = True
            self.loop.hangup(f"transferred to {human} ({detail})")
            return
        ext = humans.by_name(human, self.cfg.team.human_extensions)
        who = ext.description if ext and ext.description else human
        self.loop.say(f"Sorry, I couldn't reach {who} just now. I'm still here with you.")

    # -- a person, please -------------------------------------------------------------------

    def _intercept(self, text: str) -> str | None:
        a = self.loop.conv.assistant
        if HUMAN_TOOL not in a.tools or not humans.wants_person(text):
            return None
        team = self.cfg.team.human_extensions
        target = humans.pick(text, team)
        if target is None:
            return None
        number = humans.named_number(text)
        self.request_human(target.name, "asked", announce=False, said=text)
        lead = "I can only put you through to our own team. " if number else ""
        return f"{lead}I'm connecting you to {target.description or target.name}. One moment."

    def request_human(self, name: str, why: str, *, announce: bool = True, said: str = "") -> None:
        team = self.cfg.team.human_extensions
        ext = humans.by_name(name, team)
        if ext is None or self.transferring or self.transferred:
            if ext is None:
                self.loop.say("Sorry, there is nobody I can transfer you to.")
            return
        self.transferring = True
        self.d.report(
            {"type": "human_requested", "call": self.meta.key, "human": ext.name, "why": why}
        )
        if announce:
            self.loop.say(f"I'm connecting you to {ext.description or ext.name}. One moment.")
        self.loop.hold = True  # no "are you still there?" while the person is being called
        threading.Thread(
            target=self._brief_and_transfer, args=(ext.name, said), daemon=True
        ).start()
        threading.Thread(target=self._hold_messages, daemon=True).start()

    def _hold_messages(self) -> None:
        """No dead air while a person is being called: a short line every few seconds."""
        while True:
            time.sleep(HOLD_EVERY_S)
            if not self.transferring or self.loop.ended.is_set():
                return
            self.loop.say(self.cfg.speech.one_moment, record=False)

    def _brief_and_transfer(self, name: str, said: str) -> None:
        summary = self._summary(said)
        clip: list[Samples] = []
        if self.cfg.sip.transfer == "warm":
            voice = self.loop.conv.assistant.voice
            text = f"Hello, this is the voicebox assistant with a caller. {summary} Connecting now."
            audio = self.d.speech.voice(voice).speak(
                text, length_scale=voice.length_scale, rate=self.loop.rate
            )
            clip = split_frames(np.asarray(audio, dtype=np.float32), self.loop.rate)
        self.d.board.transfer(self.meta.key, name, summary, clip)

    def _summary(self, last: str = "") -> str:
        """One or two sentences for the person taking the call: slots and the caller's words."""
        conv = self.loop.conv
        slots = {k: v for k, v in conv.slots.items() if v}
        facts = ", ".join(f"{k}: {v}" for k, v in slots.items())
        said = [ln.text for ln in conv.lines if ln.role == "caller"][-2:] + ([last] if last else [])
        text = " ".join(said)[-200:]
        parts = [f"Caller details: {facts}." if facts else "", f"They said: {text}" if text else ""]
        return header_safe(" ".join(p for p in parts if p)) or "The caller asked for a person."

    # -- events -----------------------------------------------------------------------------

    def _sink(self, ev: dict[str, Any]) -> None:
        ev["call"] = self.meta.key
        self.d.report(ev)
        if ev["type"] == "call_end":
            reason = str(ev.get("reason", ""))
            if reason != "caller hung up" and not self.transferred:
                self.d.board.hangup(self.meta.key)  # the box ends it (silence, goodbye)
            self.d.sessions.pop(self.meta.key, None)
            self.d.prune()
