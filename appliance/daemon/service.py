"""`voicebox run`: the appliance. Wires the SIP switchboard, one conversation loop per call, the
engine, the speech models and the store; reports every event (JSON lines with --json).

A control socket (control_server.py) serves the live state, streams the events and reloads the
config file: new calls get the new config, calls in progress finish on the one they started with.

Also `voicebox call URI --assistant NAME`: the same machinery placing one call the assistant leads.
"""

from __future__ import annotations

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
from appliance.audio.pcm import Samples
from appliance.config import Config, load_config
from appliance.daemon import outbound
from appliance.daemon import reload as reloading
from appliance.daemon.call_session import CallSession
from appliance.daemon.control_server import ControlServer, ensure_free
from appliance.daemon.events import Ready
from appliance.daemon.live_state import LiveState
from appliance.daemon.signals import wait_signal
from appliance.engine import Engine
from appliance.errors import SipError
from appliance.events import BoxEvent
from appliance.sip.endpoint import SipEndpoint
from appliance.sip.guard import CallerGuard
from appliance.sip.switchboard import CallMeta, Switchboard
from appliance.store import Store
from appliance.store.recovery import StoreStatus, open_store
from appliance.team import Team, load_team
from appliance.tools.outbox import Courier
from appliance.tools.reminders import ReminderCalls

_LOGGER = logging.getLogger(__name__)
Report = Callable[[dict[str, Any]], None]
PJSUA_MAX_CALLS = 4  # what the pjsua2-python wheel is compiled with (FACTS)
UMASK = 0o027  # files the daemon makes (socket, caches): never readable by others (as the unit)


class Daemon:
    def __init__(
        self,
        team: Team,
        report: Report,
        *,
        port: int | None = None,
        config_file: Path | None = None,
        store: Store | None = None,
        store_status: StoreStatus | None = None,
    ) -> None:
        cfg = team.engine.cfg
        self.cfg = cfg
        self.engine = team.engine
        self.speech = team.speech
        self.config_file = config_file  # None: a built-in template (no reload)
        self.generation = 0  # config reloads so far
        self.started = round(time.time(), 3)
        self.address = ""
        self.sessions: dict[str, CallSession] = {}
        self.live = LiveState()
        self.control: ControlServer | None = None
        self._report = report
        self._report_lock = threading.Lock()
        self.swap_lock = threading.Lock()  # new sessions vs. a config swap
        self._reload_lock = threading.Lock()  # one reload at a time
        self._reloading = False  # no pruning while a reload warms new prefixes (swap_lock)
        self.store = store  # the store the engine records to (None: off)
        self.store_status = store_status  # what became of it at open (None: not asked for)
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

    def report(self, ev: BoxEvent) -> None:
        """Every event of the box goes out here: to the printer (journal or --json), the
        control socket's subscribers and the live state, as its wire dict."""
        wire = ev.stamped().to_wire()
        with self._report_lock:
            try:
                self._report(wire)
            except Exception:
                _LOGGER.exception("event report failed")
            if self.control is not None:
                self.control.publish(wire)  # folds it into self.live too; never blocks
            else:
                self.live.apply(wire)

    def _new_session(self, meta: CallMeta) -> CallSession:
        with self.swap_lock:  # a session starts on one whole config, old or new
            session = CallSession(self, meta, self.cfg, self.engine)
            self.sessions[meta.key] = session
        return session

    # -- what a call session asks of its host (call_session.CallHost) -------------------------

    def transfer(self, key: str, human: str, summary: str, clip: list[Samples]) -> None:
        self.board.transfer(key, human, summary, clip)

    def hang_up(self, key: str) -> None:
        self.board.hangup(key)

    def call_over(self, key: str) -> None:
        self.sessions.pop(key, None)
        self.prune()

    # -- config reload (reload.py decides, the daemon adopts) -------------------------------

    def adopt(self, cfg: Config, engine: Engine, guard: CallerGuard) -> tuple[int, int]:
        """Swap in a reloaded config and its engine for new calls (calls in progress keep
        theirs); the switchboard gets the new settings on the SIP thread. Returns the new
        generation and the number of calls in progress."""
        with self.swap_lock:
            self.cfg, self.engine, self.speech.cfg = cfg, engine, cfg
            self.generation += 1
            generation, calls = self.generation, len(self.sessions)
        try:  # the reload's answer goes out once the switchboard has the new settings
            self.ep.run(lambda: self.board.reconfigure(cfg, guard))
        except TimeoutError:  # still queued: it runs when the SIP thread gets to it
            _LOGGER.warning("the SIP thread is busy; its settings change when it gets to them")
        return generation, calls

    def listening_hosts(self) -> list[str]:
        return [x.host for x in self.ep.listening]

    # -- control socket ---------------------------------------------------------------------

    def serve_control(self, path: Path) -> None:
        """Serve status, events and reload on the unix socket at `path` (ControlError)."""
        server = ControlServer(
            path, self.status, self.reload, fold=self.live.apply,
            commands={
                "call": lambda msg: outbound.control_call(self, msg),
                "hangup": lambda msg: outbound.control_hangup(self, msg),
            },
        )  # fmt: skip
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
            Ready(
                address=self.address,
                peer_mode=self.cfg.sip.peer_mode,
                accounts=[a.aor for a in self.cfg.sip.accounts],
                max_calls=self.cfg.sip.max_calls,
                control=str(control) if control is not None else None,
                store=self.store_report(),
            )
        )

    def stop(self) -> None:
        if self.control is not None:
            self.control.stop()
        for s in list(self.sessions.values()):
            s.loop.hangup("the box is shutting down")
        self.ep.stop()
        self.board.pool.shutdown(wait=False)


def rss_mb() -> float:
    """The process's resident memory now (MB; the peak where /proc is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)
    except (OSError, ValueError, IndexError):
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3, 1)


def open_daemon_store(path: Path) -> tuple[Store | None, StoreStatus]:
    """The daemon's store, opened once before any call: a corrupt file moved aside, an
    unwritable one switched off (None: the box answers calls either way), the calls an earlier
    run left open closed as interrupted."""
    return open_store(path, close_interrupted=True)


def run_daemon(
    config_file: Path | None,
    *,
    template: str | None = None,
    llm: str | None = None,
    port: int | None = None,
    as_json: bool = False,
    control: Path,
    db: Path | None,
) -> int:
    """Run the box until SIGINT/SIGTERM: `config_file` (reloadable), else the built-in
    `template` (the starter team when None); records to the store at `db` (None: off)."""
    os.umask(UMASK)
    paths.ensure_data_dir(control.parent)
    ensure_free(control)  # another daemon on it: fail before the models load
    store, store_status = open_daemon_store(db) if db is not None else (None, None)
    cfg = load_config(config_file if config_file is not None else template)
    print("loading the team (models, profile prefixes, voices)...", file=sys.stderr, flush=True)
    team = load_team(cfg, llm=llm, store=store)
    daemon: Daemon | None = None
    report = journal.printer(as_json, lambda: daemon is not None and daemon.cfg.logging.transcripts)
    daemon = Daemon(
        team,
        report,
        port=port,
        config_file=config_file,
        store=store,
        store_status=store_status,
    )
    try:
        daemon.start(control)
    except Exception:
        daemon.engine.close()
        raise
    box = daemon
    courier = Courier(store, lambda: box.cfg.integrations) if store is not None else None
    if courier is not None:
        courier.start()  # new-ticket notices, and those an earlier run left queued
    reminders = None
    if store is not None:  # opt-in in the config (checked on every look, so a reload applies)
        reminders = ReminderCalls(
            store, lambda: box.cfg, lambda: box.engine.calendar, outbound.reminder_placer(box)
        )
        reminders.start()
    if not as_json:
        mode = "peer mode (no PBX)" if daemon.cfg.sip.peer_mode else "registering"
        print(f"voicebox is answering: call {daemon.address}  [{mode}]; Ctrl-C stops", flush=True)
        print(f"control socket: {control}", flush=True)
    wait_signal(threading.Event())
    if reminders is not None:
        reminders.stop()
    daemon.stop()
    if courier is not None:
        courier.stop()
    daemon.engine.close()  # every engine of a reload shares one brain
    if store is not None:
        store.close()
    return 0


def outbound_call(
    uri: str,
    assistant: str,
    cfg: Config,
    *,
    llm: str | None = None,
    port: int | None = None,
    as_json: bool = False,
    store: Store | None = None,
) -> int:
    """`voicebox call URI --assistant NAME`: the assistant places the call and leads it."""
    team = load_team(cfg, llm=llm, store=store, assistant=assistant)
    show = journal.printer(as_json, lambda: cfg.logging.transcripts)
    daemon = Daemon(team, show, port=port)
    daemon.start()
    done = threading.Event()
    placed: list[CallSession] = []
    try:
        key = outbound.place_call(
            daemon, uri, assistant, prepare=placed.append, on_end=lambda _: done.set()
        )
    except Exception:
        daemon.stop()
        team.engine.close()
        raise
    session = placed[0]
    wait_signal(done)
    daemon.board.hangup(key)
    time.sleep(0.5)
    daemon.stop()
    team.engine.close()
    return 0 if session.loop.conv.turn > 0 or session.loop.frames_in > 0 else 1
