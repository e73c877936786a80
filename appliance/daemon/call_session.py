"""One call on the box: a CallLoop plus the keypad, transfers to people and the hang-up rules.
A session keeps the config and engine it started with, whatever a reload brings meanwhile."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from appliance.audio.pcm import Samples
from appliance.call import CallLoop
from appliance.call_events import CallEnd, CallEvent
from appliance.config import Config
from appliance.engine import Engine
from appliance.events import BoxEvent
from appliance.sip.switchboard import CallMeta
from appliance.speech.voices import SpeechModels
from appliance.tools import human as humans
from appliance.tools.transfer import PersonTransfer

_LOGGER = logging.getLogger(__name__)


class CallHost(Protocol):
    """What a call session needs from the daemon that runs it."""

    speech: SpeechModels

    def report(self, ev: BoxEvent) -> None: ...
    def transfer(self, key: str, human: str, summary: str, clip: list[Samples]) -> None: ...
    def hang_up(self, key: str) -> None: ...
    def call_over(self, key: str) -> None: ...


class CallSession:
    """One call: a CallLoop plus the keypad, transfers to people and the hang-up rules."""

    def __init__(self, host: CallHost, meta: CallMeta, cfg: Config, engine: Engine) -> None:
        self.host = host
        self.meta = meta
        # the config and engine the call started with, whatever a reload brings meanwhile
        self.cfg = cfg
        self.engine = engine
        self.loop = CallLoop(
            engine,
            host.speech,
            assistant=meta.assistant,
            channel="sip",
            sink=self._sink,
            caller=meta.caller,
        )
        self.person = PersonTransfer(
            self.loop,
            cfg,
            host.speech,
            key=lambda: self.meta.key,
            report=host.report,
            handover=lambda name, summary, clip: host.transfer(self.meta.key, name, summary, clip),
        )
        self.loop.intercept = self.person.intercept
        self.on_end: list[Callable[[], None]] = []  # called once the call has ended
        self.digits = ""
        self._digit_timer: threading.Timer | None = None

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

    def request_human(self, name: str, why: str) -> None:
        self.person.request(name, why)

    def on_transfer(self, ok: bool, human: str, detail: str) -> None:
        self.person.finished(ok, human, detail)

    # -- events -----------------------------------------------------------------------------

    def _sink(self, ev: CallEvent) -> None:
        self.host.report(ev.for_call(self.meta.key))
        if isinstance(ev, CallEnd):
            if ev.reason != "caller hung up" and not self.person.transferred:
                self.host.hang_up(self.meta.key)  # the box ends it (silence, goodbye)
            self.host.call_over(self.meta.key)
            for done in self.on_end:
                done()
