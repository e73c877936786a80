"""`voicebox run`: the appliance. Wires the SIP switchboard, one conversation loop per call, the
engine, the speech models and the store; reports every event as a dict (JSON lines with --json).

Also `voicebox call URI --assistant NAME`: the same machinery placing one call the assistant leads.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from appliance.audio.pcm import Samples, split_frames
from appliance.call import CallLoop
from appliance.cli_sip import wait_signal
from appliance.config import Config
from appliance.engine import Engine
from appliance.errors import SipError
from appliance.sip.endpoint import SipEndpoint
from appliance.sip.switchboard import CallMeta, Switchboard
from appliance.speech.voices import SpeechModels
from appliance.tools import human as humans

_LOGGER = logging.getLogger(__name__)
Report = Callable[[dict[str, Any]], None]
HUMAN_TOOL = "transfer_to_human"
HOLD_EVERY_S = 7.0
PJSUA_MAX_CALLS = 4  # what the pjsua2-python wheel is compiled with (FACTS)


class BoxSession:
    """One call: a CallLoop plus the keypad, transfers to people and the hang-up rules."""

    def __init__(self, daemon: Daemon, meta: CallMeta) -> None:
        self.d = daemon
        self.meta = meta
        self.loop = CallLoop(
            daemon.engine,
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
        keys = self.d.cfg.sip.dtmf
        if digit == keys.human_key and not self.digits:
            self.request_human(keys.human, "keypad")
            return
        if digit == keys.end_key:
            self._flush_digits()
            return
        self.digits += digit
        if self._digit_timer is not None:
            self._digit_timer.cancel()
        self._digit_timer = threading.Timer(keys.digits_timeout_ms / 1000, self._flush_digits)
        self._digit_timer.daemon = True
        self._digit_timer.start()

    def _flush_digits(self) -> None:
        digits, self.digits = self.digits, ""
        if digits:
            self.loop.typed(digits)

    def on_transfer(self, ok: bool, human: str, detail: str) -> None:
        self.transferring = False
        self.loop.hold = False
        if ok:
            self.transferred = True
            self.loop.hangup(f"transferred to {human} ({detail})")
            return
        ext = humans.by_name(human, self.d.cfg.team.human_extensions)
        who = ext.description if ext and ext.description else human
        self.loop.say(f"Sorry, I couldn't reach {who} just now. I'm still here with you.")

    # -- a person, please -------------------------------------------------------------------

    def _intercept(self, text: str) -> str | None:
        a = self.loop.conv.assistant
        if HUMAN_TOOL not in a.tools or not humans.wants_person(text):
            return None
        team = self.d.cfg.team.human_extensions
        target = humans.pick(text, team)
        if target is None:
            return None
        number = humans.named_number(text)
        self.request_human(target.name, "asked", announce=False, said=text)
        lead = "I can only put you through to our own team. " if number else ""
        return f"{lead}I'm connecting you to {target.description or target.name}. One moment."

    def request_human(self, name: str, why: str, *, announce: bool = True, said: str = "") -> None:
        team = self.d.cfg.team.human_extensions
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
            self.loop.say(self.d.cfg.speech.one_moment)

    def _brief_and_transfer(self, name: str, said: str) -> None:
        summary = self._summary(said)
        clip: list[Samples] = []
        if self.d.cfg.sip.transfer == "warm":
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
        return " ".join(p for p in parts if p) or "The caller asked for a person."

    # -- events -----------------------------------------------------------------------------

    def _sink(self, ev: dict[str, Any]) -> None:
        ev["call"] = self.meta.key
        self.d.report(ev)
        if ev["type"] == "call_end":
            reason = str(ev.get("reason", ""))
            if reason != "caller hung up" and not self.transferred:
                self.d.board.hangup(self.meta.key)  # the box ends it (silence, goodbye)
            self.d.sessions.pop(self.meta.key, None)


class Daemon:
    def __init__(
        self,
        cfg: Config,
        engine: Engine,
        speech: SpeechModels,
        report: Report,
        *,
        port: int | None = None,
    ) -> None:
        self.cfg = cfg
        self.engine = engine
        self.speech = speech
        self.sessions: dict[str, BoxSession] = {}
        self._report = report
        self._report_lock = threading.Lock()
        sip = cfg.sip
        self.ep = SipEndpoint(
            bind=sip.bind,
            port=sip.port if port is None else port,
            transports=list(sip.transports),
            clock_rate=cfg.speech.line_rate,
            codecs=list(sip.codecs),
            max_calls=PJSUA_MAX_CALLS,  # the switchboard applies sip.max_calls and its overflow
            tls_cert=sip.tls_cert,
            tls_key=sip.tls_key,
        )
        self.ep.on_rejected = self.report
        self.board = Switchboard(self.ep, cfg, self._new_session, self.report)

    def report(self, ev: dict[str, Any]) -> None:
        ev.setdefault("wall", round(time.time(), 3))
        with self._report_lock:
            try:
                self._report(ev)
            except Exception:
                _LOGGER.exception("event report failed")

    def _new_session(self, meta: CallMeta) -> BoxSession:
        s = BoxSession(self, meta)
        self.sessions[meta.key] = s
        return s

    def start(self) -> None:
        sys.setswitchinterval(0.0005)  # media callbacks wait less for the GIL (FACTS)
        try:
            self.ep.start()
        except SipError as err:
            if not self.cfg.sip.peer_mode or self.ep.port == 0:
                raise
            # peer mode on a machine where the port is taken (another SIP service): any port
            _LOGGER.warning("SIP port %d unavailable (%s); using a free port", self.ep.port, err)
            self.ep.port = 0
            self.ep.listening.clear()
            self.ep.start()
        self.ep.on_stop.append(self.board.stop)
        self.ep.run(self.board.start)
        host, port = self.ep.address(self.cfg.sip.transports[0])
        self.address = f"sip:{self.cfg.team.entry}@{host}:{port}"
        self.report(
            {
                "type": "ready",
                "address": self.address,
                "peer_mode": self.cfg.sip.peer_mode,
                "accounts": [a.aor for a in self.cfg.sip.accounts],
            }
        )

    def stop(self) -> None:
        for s in list(self.sessions.values()):
            s.loop.hangup("the box is shutting down")
        self.ep.stop()
        self.board.pool.shutdown(wait=False)


def _reporter(as_json: bool) -> Report:
    def show(ev: dict[str, Any]) -> None:
        if as_json:
            print(json.dumps(ev, ensure_ascii=False, default=str), flush=True)
            return
        kind = ev["type"]
        if kind in ("partial", "audio_start", "speech_start", "speech_end", "first_sentence"):
            return
        rest = {k: v for k, v in ev.items() if k not in ("type", "wall", "t_ms")}
        print(f"{time.strftime('%H:%M:%S')} {kind} {rest}", flush=True)

    return show


def _team(args: argparse.Namespace) -> tuple[Engine, SpeechModels]:
    from appliance.cli import _voice_team

    args.assistant = getattr(args, "assistant", None)
    engine, speech = _voice_team(args)
    return engine, speech


def run_daemon(args: argparse.Namespace) -> int:
    print("loading the team (models, profile prefixes, voices)...", file=sys.stderr, flush=True)
    engine, speech = _team(args)
    d = Daemon(engine.cfg, engine, speech, _reporter(args.json), port=args.port)
    d.start()
    if not args.json:
        mode = "peer mode (no PBX)" if engine.cfg.sip.peer_mode else "registering"
        print(f"voicebox is answering: call {d.address}  [{mode}]; Ctrl-C stops", flush=True)
    wait_signal(threading.Event())
    d.stop()
    engine.close()
    return 0


def outbound_call(args: argparse.Namespace) -> int:
    """`voicebox call URI --assistant NAME`: the assistant places the call and leads it."""
    engine, speech = _team(args)
    d = Daemon(engine.cfg, engine, speech, _reporter(args.json), port=args.port)
    d.start()
    done = threading.Event()
    meta = CallMeta("", args.assistant, "", "", "out")
    session = d._new_session(meta)
    orig = session._sink

    def sink(ev: dict[str, Any]) -> None:
        orig(ev)
        if ev["type"] == "call_end":
            done.set()

    session.loop.sink = sink
    meta.key = d.board.dial(args.uri, args.assistant, session)
    d.sessions[meta.key] = session
    wait_signal(done)
    d.board.hangup(meta.key)
    time.sleep(0.5)
    d.stop()
    engine.close()
    return 0 if session.loop.conv.turn > 0 or session.loop.frames_in > 0 else 1
