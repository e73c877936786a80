"""`voicebox run`: the appliance. Wires the SIP switchboard, one conversation loop per call, the
engine, the speech models and the store; reports every event as a dict (JSON lines with --json).

A control socket (control.py) serves the live state, streams the events and reloads the config
file: new calls get the new config, calls in progress finish on the one they started with.

Also `voicebox call URI --assistant NAME`: the same machinery placing one call the assistant leads.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance import journal, paths
from appliance import reload as reloading
from appliance.box_session import BoxSession
from appliance.cli_sip import wait_signal
from appliance.config import TEMPLATES, Config
from appliance.control import ControlServer, ensure_free
from appliance.engine import Engine
from appliance.errors import SipError
from appliance.live_state import LiveState
from appliance.sip.endpoint import SipEndpoint
from appliance.sip.switchboard import CallMeta, Switchboard
from appliance.speech.voices import SpeechModels
from appliance.store import Store
from appliance.store_open import StoreStatus, open_store

_LOGGER = logging.getLogger(__name__)
Report = Callable[[dict[str, Any]], None]
PJSUA_MAX_CALLS = 4  # what the pjsua2-python wheel is compiled with (FACTS)
UMASK = 0o027  # files the daemon makes (socket, caches): never readable by others (as the unit)


class Daemon:
    def __init__(
        self,
        cfg: Config,
        engine: Engine,
        speech: SpeechModels,
        report: Report,
        *,
        port: int | None = None,
        config_file: Path | None = None,
    ) -> None:
        self.cfg = cfg
        self.engine = engine
        self.speech = speech
        self.config_file = config_file  # None: a built-in template (no reload)
        self.generation = 0  # config reloads so far
        self.started = round(time.time(), 3)
        self.address = ""
        self.sessions: dict[str, BoxSession] = {}
        self.live = LiveState()
        self.control: ControlServer | None = None
        self._report = report
        self._report_lock = threading.Lock()
        self.swap_lock = threading.Lock()  # new sessions vs. a config swap
        self._reload_lock = threading.Lock()  # one reload at a time
        self._reloading = False  # no pruning while a reload warms new prefixes (swap_lock)
        self.store: Store | None = None  # the store the engine records to (None: off)
        self.store_status: StoreStatus | None = None  # what became of it at open
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
            tls_ca_file=sip.tls_ca_file,
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
            if self.control is not None:
                self.control.publish(ev)  # folds it into self.live too; never blocks
            else:
                self.live.apply(ev)

    def _new_session(self, meta: CallMeta) -> BoxSession:
        with self.swap_lock:  # a session starts on one whole config, old or new
            s = BoxSession(self, meta)
            self.sessions[meta.key] = s
        return s

    # -- control socket ---------------------------------------------------------------------

    def serve_control(self, path: Path) -> None:
        """Serve status, events and reload on the unix socket at `path` (ControlError)."""
        server = ControlServer(path, self.status, self.reload, fold=self.live.apply)
        server.start()
        with self._report_lock:
            self.control = server

    def status(self) -> dict[str, Any]:
        return {
            "type": "status",
            "pid": os.getpid(),
            "started": self.started,
            "address": self.address,
            "peer_mode": self.cfg.sip.peer_mode,
            "config": str(self.config_file) if self.config_file else None,
            "generation": self.generation,
            "state": self.live.snapshot(),
            "store": self.store_report(),
            "models": {
                "llm": self.engine.llm_name,
                "startup_ms": round(self.engine.startup_ms),
                "rss_mb": rss_mb(),
            },
        }

    def store_report(self) -> dict[str, Any]:
        """The store's state for the ready event, the status and the dashboard: "ok",
        "recovered" (a corrupt file moved aside), "off" (no records) or "none" (not asked for),
        its message and the writes that failed since."""
        if self.store_status is None:
            return {"state": "none", "message": "no store (--no-store)", "write_errors": 0}
        out = {**self.store_status.to_dict()}
        out["write_errors"] = self.store.write_errors if self.store is not None else 0
        if self.store is not None and self.store.write_errors:
            out["last_error"] = self.store.last_error
        return out

    def reload(self) -> dict[str, Any]:
        """Read the config file again; new calls get it, calls in progress keep theirs. Runs on
        the control socket's thread (the SIP thread only gets the swap of its settings)."""
        with self._reload_lock:
            with self.swap_lock:
                self._reloading = True
            try:
                answer = reloading.reload_box(self)
            except Exception as err:  # a bug or a broken model file: the box runs on as it was
                _LOGGER.exception("config reload failed")
                answer = {"type": "reload", "ok": False, "errors": [f"reload failed: {err}"]}
            finally:
                with self.swap_lock:
                    self._reloading = False
            self.prune()
            return answer

    def prune(self) -> None:
        """Drop cached prefixes (profiles, router, slots) that neither the current engine nor a
        call uses."""
        with self.swap_lock:
            if self.generation > 0 and not self._reloading:
                reloading.prune(self.engine, [s.engine for s in self.sessions.values()])

    def start(self, control: Path | None = None) -> None:
        """Start SIP (and the control socket at `control`), then report "ready"."""
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
        if control is not None:
            try:
                self.serve_control(control)
            except Exception:
                self.stop()
                raise
        # everything loaded so far (models, team, phrases) lives as long as the box: out of the
        # collector's generations, so a full collection during calls does not walk it while
        # holding the GIL (four 1.5B calls showed one 64 ms stall of every media callback at once)
        gc.collect()
        gc.freeze()
        self.report(
            {
                "type": "ready",
                "address": self.address,
                "peer_mode": self.cfg.sip.peer_mode,
                "accounts": [a.aor for a in self.cfg.sip.accounts],
                "max_calls": self.cfg.sip.max_calls,  # call slots, transfer legs included
                "control": str(control) if control is not None else None,
                "store": self.store_report(),
            }
        )

    def stop(self) -> None:
        if self.control is not None:
            self.control.stop()
        for s in list(self.sessions.values()):
            s.loop.hangup("the box is shutting down")
        self.ep.stop()
        self.board.pool.shutdown(wait=False)


def _team(args: argparse.Namespace) -> tuple[Engine, SpeechModels]:
    from appliance.cli import _voice_team

    args.assistant = getattr(args, "assistant", None)
    engine, speech = _voice_team(args)
    return engine, speech


def rss_mb() -> float:
    """The process's resident memory now (MB; the peak where /proc is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)
    except (OSError, ValueError, IndexError):
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3, 1)


def config_file(args: argparse.Namespace) -> Path | None:
    """The config file `voicebox run` reads (and reloads): --config FILE, else the box's file
    when it exists (args.config is set to it), else None: a built-in template."""
    if args.config is None:
        default = paths.config_path()
        if not default.is_file():
            return None
        args.config = str(default)
    if args.config in TEMPLATES:
        return None
    return Path(args.config).resolve()


def open_box_store(args: argparse.Namespace) -> tuple[Store | None, StoreStatus | None]:
    """The daemon's store, opened once before any call: a corrupt file moved aside, an
    unwritable one switched off (the box answers calls either way), the calls an earlier run
    left open closed as interrupted. The engine records to it (args.opened_store)."""
    if getattr(args, "no_store", False):
        return None, None
    path = Path(args.db) if getattr(args, "db", None) else paths.store_path()
    store, status = open_store(path, close_interrupted=True)
    if store is None:
        args.no_store = True  # no records, but calls
    args.opened_store = store
    return store, status


def run_daemon(args: argparse.Namespace) -> int:
    os.umask(UMASK)
    path = config_file(args)
    control = Path(args.control) if getattr(args, "control", None) else paths.control_path()
    paths.ensure_data_dir(control.parent)
    ensure_free(control)  # another daemon on it: fail before the models load
    store, store_status = open_box_store(args)
    print("loading the team (models, profile prefixes, voices)...", file=sys.stderr, flush=True)
    engine, speech = _team(args)
    d: Daemon | None = None
    report = journal.printer(args.json, lambda: d is not None and d.cfg.logging.transcripts)
    d = Daemon(engine.cfg, engine, speech, report, port=args.port, config_file=path)
    d.store, d.store_status = store, store_status
    try:
        d.start(control)
    except Exception:
        d.engine.close()
        raise
    if not args.json:
        mode = "peer mode (no PBX)" if engine.cfg.sip.peer_mode else "registering"
        print(f"voicebox is answering: call {d.address}  [{mode}]; Ctrl-C stops", flush=True)
        print(f"control socket: {control}", flush=True)
    wait_signal(threading.Event())
    d.stop()
    d.engine.close()  # every engine of a reload shares one brain
    if store is not None:
        store.close()
    return 0


def outbound_call(args: argparse.Namespace) -> int:
    """`voicebox call URI --assistant NAME`: the assistant places the call and leads it."""
    engine, speech = _team(args)
    cfg = engine.cfg
    show = journal.printer(args.json, lambda: cfg.logging.transcripts)
    d = Daemon(cfg, engine, speech, show, port=args.port)
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
