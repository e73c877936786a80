"""The `transfer_to_human` tool on a phone call: the caller asks for a person (in words or on
the keypad), the box briefs the person and hands the call over, with hold lines meanwhile.

Only `team.human_extensions` can be reached (appliance/tools/human.py decides who); the SIP
side of the hand-over is the switchboard's (appliance/sip/transfers.py).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

import numpy as np

from appliance.audio.pcm import Samples, split_frames
from appliance.call import CallLoop
from appliance.config import Config
from appliance.conversation import Conversation
from appliance.events import BoxEvent
from appliance.speech.voices import SpeechModels
from appliance.tools import human as humans
from appliance.tools.events import HumanRequested

_LOGGER = logging.getLogger(__name__)
TOOL = "transfer_to_human"
HOLD_EVERY_S = 7.0
SUMMARY_MAX = 200  # characters of the summary (spoken to the person, sent as a SIP header)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1, line separators
Handover = Callable[[str, str, list[Samples]], None]  # person, summary, briefing clip


def header_safe(text: str, limit: int = SUMMARY_MAX) -> str:
    """One line fit for a SIP header value: every control character (CR, LF, NUL, the other C0
    and C1 ones, Unicode line separators) becomes a blank, blanks collapse, at most `limit`
    characters. A caller's words cannot end the header and start one of their own."""
    return " ".join(_CONTROL.sub(" ", text).split())[:limit].rstrip()


def summary_for_person(conv: Conversation, last: str = "") -> str:
    """One or two sentences for the person taking the call: slots and the caller's words."""
    slots = {k: v for k, v in conv.slots.items() if v}
    facts = ", ".join(f"{k}: {v}" for k, v in slots.items())
    said = [ln.text for ln in conv.lines if ln.role == "caller"][-2:] + ([last] if last else [])
    text = " ".join(said)[-200:]
    parts = [f"Caller details: {facts}." if facts else "", f"They said: {text}" if text else ""]
    return header_safe(" ".join(p for p in parts if p)) or "The caller asked for a person."


class PersonTransfer:
    """One call's transfers to a person: who, the announcement, the hold lines, the briefing
    (warm transfers), and what the caller hears when nobody answers."""

    def __init__(
        self,
        loop: CallLoop,
        cfg: Config,
        speech: SpeechModels,
        *,
        key: Callable[[], str],
        report: Callable[[BoxEvent], None],
        handover: Handover,
    ) -> None:
        self.loop = loop
        self.cfg = cfg
        self.speech = speech
        self._key = key
        self._report = report
        self._handover = handover
        self.transferring = False
        self.transferred = False

    def intercept(self, text: str) -> str | None:
        """A caller's words asking for a person: start the transfer and return what to say
        (None: not a request, or the assistant has no such tool; the team answers)."""
        if TOOL not in self.loop.conv.assistant.tools or not humans.wants_person(text):
            return None
        target = humans.pick(text, self.cfg.team.human_extensions)
        if target is None:
            return None
        takes = bool({"take_message", "tickets"} & set(self.loop.conv.assistant.tools))
        closed = humans.closed_reply(
            self.cfg.team.hours, self.loop.conv.now(), takes_messages=takes
        )
        if closed is not None:  # nobody there: the message is offered, nobody is rung
            _LOGGER.info("a caller asked for a person while the office is closed")
            return closed
        number = humans.named_number(text)
        self.request(target.name, "asked", announce=False, said=text)
        lead = "I can only put you through to our own team. " if number else ""
        return f"{lead}I'm connecting you to {target.description or target.name}. One moment."

    def request(self, name: str, why: str, *, announce: bool = True, said: str = "") -> None:
        ext = humans.by_name(name, self.cfg.team.human_extensions)
        if ext is None or self.transferring or self.transferred:
            if ext is None:
                self.loop.say("Sorry, there is nobody I can transfer you to.")
            return
        self.transferring = True
        self._report(HumanRequested(call=self._key(), human=ext.name, why=why))
        if announce:
            self.loop.say(f"I'm connecting you to {ext.description or ext.name}. One moment.")
        self.loop.hold = True  # no "are you still there?" while the person is being called
        threading.Thread(
            target=self._brief_and_hand_over, args=(ext.name, said), daemon=True
        ).start()
        threading.Thread(target=self._hold_lines, daemon=True).start()

    def finished(self, ok: bool, human: str, detail: str) -> None:
        """The switchboard's answer: the call is the person's now, or the caller hears why not."""
        self.transferring = False
        self.loop.hold = False
        if ok:
            self.transferred = True
            self.loop.hangup(f"transferred to {human} ({detail})")
            return
        ext = humans.by_name(human, self.cfg.team.human_extensions)
        who = ext.description if ext and ext.description else human
        self.loop.say(f"Sorry, I couldn't reach {who} just now. I'm still here with you.")

    def _hold_lines(self) -> None:
        """No dead air while a person is being called: a short line every few seconds."""
        while True:
            time.sleep(HOLD_EVERY_S)
            if not self.transferring or self.loop.ended.is_set():
                return
            language = self.loop.conv.assistant.language
            self.loop.say(self.cfg.speech.fixed("one_moment", language), record=False)

    def _brief_and_hand_over(self, name: str, said: str) -> None:
        summary = summary_for_person(self.loop.conv, said)
        clip: list[Samples] = []
        if self.cfg.sip.transfer == "warm":
            voice = self.loop.conv.assistant.voice
            text = f"Hello, this is the voicebox assistant with a caller. {summary} Connecting now."
            audio = self.speech.voice(voice).speak(
                text, length_scale=voice.length_scale, rate=self.loop.rate
            )
            clip = split_frames(np.asarray(audio, dtype=np.float32), self.loop.rate)
        self._handover(name, summary, clip)
