"""The one pjsua2 Endpoint of a process, run on its own SIP thread.

pjsua2 may only be called from threads it knows, and calling it from an unknown Python thread
aborts the process. So every pjsua2 call happens on the SIP thread: other threads hand it work with
`call_soon()` / `run()`. With `threadCnt = 0` the SIP callbacks run on that thread too (media
callbacks run on pjmedia's clock thread; they only move buffers).
"""

from __future__ import annotations

import collections
import concurrent.futures
import gc
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pjsua2 as pj

from appliance.errors import SipError
from appliance.sip.events import CallRejected
from appliance.sip.tls import tls_config

_LOGGER = logging.getLogger(__name__)
_PJ_LOGGER = logging.getLogger("pjsip")
T = TypeVar("T")
CODEC_IDS = {
    "PCMU": "PCMU/8000",
    "PCMA": "PCMA/8000",
    "G722": "G722/16000",
    "GSM": "GSM/8000",
    "iLBC": "iLBC/8000",
    "speex": "speex/",
}
BURY_GRACE_S = 2.0  # an ended call object lives at least this long after its burial
REAP_EVERY_S = 0.5
TRANSPORTS = {
    "udp": pj.PJSIP_TRANSPORT_UDP,
    "tcp": pj.PJSIP_TRANSPORT_TCP,
    "tls": pj.PJSIP_TRANSPORT_TLS,
}


class _LogWriter(pj.LogWriter):  # type: ignore[misc]
    """PJSIP's own log lines go to Python logging (never to stdout: `--json` owns it)."""

    def write(self, entry: Any) -> None:
        msg = str(entry.msg).rstrip()
        if "password" in msg.lower():
            return
        _PJ_LOGGER.debug("%s", msg)


class _Endpoint(pj.Endpoint):  # type: ignore[misc]
    """Reports the calls pjsua turns away by itself (e.g. over its compiled call limit)."""

    def __init__(self, on_rejected: Callable[[CallRejected], None] | None) -> None:
        super().__init__()
        self.on_rejected = on_rejected

    def onRejectedIncomingCall(self, prm: Any) -> None:
        if self.on_rejected is not None:
            self.on_rejected(
                CallRejected(
                    caller=str(prm.remoteInfo), code=int(prm.statusCode), reason=str(prm.reason)
                )
            )


@dataclass
class Listening:
    transport: str
    transport_id: int
    host: str
    port: int


class SipEndpoint:
    """Owns the pjsua2 library for this process: create, run, stop."""

    def __init__(
        self,
        *,
        bind: str = "0.0.0.0",
        port: int = 0,
        transports: list[str] | None = None,
        clock_rate: int = 8000,
        codecs: list[str] | None = None,
        max_calls: int = 4,
        tls_cert: str = "",
        tls_key: str = "",
        tls_ca_file: str = "",
        user_agent: str = "voicebox",
    ) -> None:
        self.bind = bind
        self.port = port
        self.transport_names = transports or ["udp"]
        self.clock_rate = clock_rate
        self.codecs = codecs or ["PCMU", "PCMA", "G722"]
        self.max_calls = max_calls
        self.tls = (tls_cert, tls_key)
        self.tls_ca_file = tls_ca_file  # servers' certificates are verified against it (tls.py)
        self.user_agent = user_agent
        self.ep: Any = None
        self.listening: list[Listening] = []
        self._cmds: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._timers: list[tuple[float, Callable[[], None]]] = []
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._stopped = threading.Event()
        self.on_stop: list[Callable[[], None]] = []  # run on the SIP thread before libDestroy
        self.on_rejected: Callable[[CallRejected], None] | None = None
        # Ended calls are not deleted where they end: a pjsua2 Call's destructor clears the user
        # data of its call id and hangs the id up when it is active, and pjsua reuses ids (always
        # id 0 with one call at a time), so a late delete would end whichever call has the id
        # now. Buried calls wait here (no media, no handler) until their id is idle
        # (`not isActive()`) and BURY_GRACE_S have passed; they are then dropped on this thread
        # between event polls, when no other call can take the id meanwhile. Burial is O(1);
        # `_reap` looks at each buried call once per REAP_EVERY_S. While new calls keep every
        # id busy (a flood that never pauses) the buried ones wait: at most 16 a second (the
        # switchboard holds refused calls 0.25 s in 4 slots), gone at the first idle moment.
        self.graveyard: collections.deque[tuple[float, Any]] = collections.deque()
        self._buried: set[int] = set()  # id() of the calls in the graveyard
        self._next_reap = 0.0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> None:
        self._ready.clear()
        self._stopped.clear()
        self._failed = None
        self._thread = threading.Thread(target=self._main, name="sip", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise SipError("the SIP stack did not start in time")
        if self._failed is not None:
            raise SipError(f"the SIP stack did not start: {self._failed}") from self._failed

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None or self._stopped.is_set():
            return
        self._cmds.put(None)
        self._thread.join(timeout)

    @property
    def in_sip_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def _main(self) -> None:
        try:
            self._create()
        except Exception as err:  # reported by start()
            self._failed = err
            self._ready.set()
            self._stopped.set()
            return
        self._ready.set()
        try:
            self._loop()
        finally:
            self._destroy()
            self._stopped.set()

    def _create(self) -> None:
        ep = _Endpoint(self.on_rejected)
        # libCreate logs to stdout before our log config exists; stdout belongs to --json
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(2, 1)
        try:
            ep.libCreate()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0  # callbacks on this thread
        cfg.uaConfig.mainThreadOnly = False
        cfg.uaConfig.maxCalls = self.max_calls
        cfg.uaConfig.userAgent = self.user_agent
        cfg.logConfig.level = 3
        cfg.logConfig.consoleLevel = 0
        self._writer = _LogWriter()
        cfg.logConfig.writer = self._writer
        cfg.logConfig.msgLogging = 0
        cfg.medConfig.clockRate = self.clock_rate
        cfg.medConfig.sndClockRate = self.clock_rate
        cfg.medConfig.channelCount = 1
        cfg.medConfig.noVad = True
        cfg.medConfig.ecTailLen = 0
        try:
            ep.libInit(cfg)
            self._transports(ep)
            ep.libStart()
        except Exception:
            ep.libDestroy()  # a second try in this process needs a fresh library
            raise
        ep.audDevManager().setNullDev()
        self._set_codecs(ep)
        self.ep = ep
        _LOGGER.info(
            "SIP listening on %s",
            ", ".join(f"{x.transport}:{x.host}:{x.port}" for x in self.listening),
        )

    def _transports(self, ep: Any) -> None:
        for name in self.transport_names:
            tcfg = pj.TransportConfig()
            tcfg.port = self.port
            if self.bind not in ("", "0.0.0.0"):
                tcfg.boundAddress = self.bind
            if name == "tls":
                tcfg.tlsConfig = tls_config(*self.tls, self.tls_ca_file)
                tcfg.port = self.port + 1 if self.port else 0  # 5061 next to 5060
            tid = ep.transportCreate(TRANSPORTS[name], tcfg)
            info = ep.transportGetInfo(tid)
            host, _, port = str(info.localName).rpartition(":")
            self.listening.append(Listening(name, tid, host, int(port)))

    def _set_codecs(self, ep: Any) -> None:
        wanted = [CODEC_IDS[c] for c in self.codecs]
        for info in ep.codecEnum2():
            cid = str(info.codecId)
            prio = 0
            for i, prefix in enumerate(wanted):
                if cid.startswith(prefix):
                    prio = 250 - i * 10
                    break
            ep.codecSetPriority(cid, prio)

    def _loop(self) -> None:
        while True:
            self.ep.libHandleEvents(10)
            now = time.monotonic()
            if self.graveyard and now >= self._next_reap:
                self._reap(now)
            if any(t[0] <= now for t in self._timers):
                self._run_due(now)  # its locals (the tasks, what they hold) go when it returns
            while True:
                try:
                    fn = self._cmds.get_nowait()
                except queue.Empty:
                    break
                if fn is None:
                    return
                self._run_one(fn)
                del fn  # nor does a command's closure outlive it here

    def _run_due(self, now: float) -> None:
        due = [t for t in self._timers if t[0] <= now]
        self._timers = [t for t in self._timers if t[0] > now]
        for _, task in due:
            self._run_one(task)

    def _run_one(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            _LOGGER.exception("SIP task failed")

    def _destroy(self) -> None:
        for fn in self.on_stop:
            self._run_one(fn)
        if self.ep is None:
            return
        try:
            self.ep.hangupAllCalls()
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                self.ep.libHandleEvents(20)
            self._timers.clear()  # they may hold the last references to calls
            self.graveyard.clear()
            self._buried.clear()
            gc.collect()  # every Call object must go before libDestroy, or pjsua asserts
            self.ep.libDestroy()
        except Exception:
            _LOGGER.exception("SIP shutdown failed")
        self.ep = None

    # -- work from other threads ------------------------------------------------------------

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the SIP thread (at once when already there)."""
        if self.in_sip_thread:
            self._run_one(fn)
        else:
            self._cmds.put(fn)

    def bury(self, call: Any) -> None:
        """Keep an ending call object until its id is idle (see `graveyard`), without its
        baggage. SIP thread only."""
        if id(call) in self._buried:
            return
        if hasattr(call, "retire"):
            call.retire()
        self._buried.add(id(call))
        self.graveyard.append((time.monotonic(), call))

    def _reap(self, now: float) -> None:
        """Drop the buried calls whose id is idle (SIP thread, outside any PJSIP callback)."""
        self._next_reap = now + REAP_EVERY_S
        for _ in range(len(self.graveyard)):
            buried_at, call = self.graveyard.popleft()
            try:
                idle = now - buried_at >= BURY_GRACE_S and not call.isActive()
            except Exception:
                idle = False
            if idle and hasattr(call, "retire"):
                call.retire()  # a handler closing over the call would keep it alive
            # dropped only when this is the last reference (2 = `call` + getrefcount's own), so
            # the destructor runs here, while the id belongs to nobody, and on this thread
            if idle and sys.getrefcount(call) <= 2:
                self._buried.discard(id(call))
                del call
            else:
                self.graveyard.append((buried_at, call))

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> None:
        """Run `fn` on the SIP thread after `delay_s` (only from the SIP thread)."""
        self._timers.append((time.monotonic() + delay_s, fn))

    def later(self, delay_s: float, fn: Callable[[], None]) -> None:
        """call_later from any thread."""
        self.call_soon(lambda: self.call_later(delay_s, fn))

    def run(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Run `fn` on the SIP thread and wait for its result."""
        if self.in_sip_thread:
            return fn()
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def task() -> None:
            try:
                fut.set_result(fn())
            except BaseException as err:
                fut.set_exception(err)

        self._cmds.put(task)
        return fut.result(timeout)

    def address(self, transport: str = "udp") -> tuple[str, int]:
        for x in self.listening:
            if x.transport == transport:
                return x.host, x.port
        raise SipError(f"not listening on {transport}")

    def transport_id(self, transport: str) -> int:
        for x in self.listening:
            if x.transport == transport:
                return x.transport_id
        return -1
