"""Drive a `CallLoop` on the stepped clock (each `step` is one 20 ms frame) so that its event
stream and timings are the same on every run.

The loop's worker and mouth are threads. After every step the driver waits until both have
nothing left to do (or the worker is parked on a scripted reply's hold, which only a later step
can release); the mouth only starts what a step queued once the step returned. So whatever a
step caused is in the playout before the next step, and every `t_ms` follows from the script.

This needs to see inside the loop: the worker's job queue is replaced by one that knows whether
a job is in hand, the mouth's queue by one that waits for the step to end, and the mouth's
counter of sentences in hand is read. All of that is here and nowhere else in the tests.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import numpy as np

from appliance.audio.pcm import Samples
from appliance.call import CallLoop
from appliance.engine import Engine
from appliance.speech.voices import SpeechModels

from .audio import silent_frames, speech_frames
from .brain import ScriptedBrain
from .events import kinds


class _TrackedJobs(queue.Queue[Any]):
    """The worker's queue: idle when empty and the worker is back waiting for a job (one
    consumer: entering get() means the job taken before is done)."""

    def __init__(self) -> None:
        super().__init__()
        self.taken = 0
        self.done = 0

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        with self.mutex:
            self.done = self.taken
        return super().get(block, timeout)

    def _get(self) -> Any:  # under self.mutex, with the item's removal
        self.taken += 1
        return super()._get()

    def idle(self) -> bool:
        with self.mutex:
            return not self.queue and self.done == self.taken


class _GatedSays(queue.Queue[Any]):
    """The mouth's queue: what a step queued is synthesized once the step is over (a barge-in's
    non-blocking drain is not held)."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        item = super().get(block, timeout)
        if block:
            self.gate.wait()
        return item


class SteppedCall:
    """One call on the stepped clock; `events` is everything the loop reported, in order."""

    def __init__(
        self,
        engine: Engine,
        speech: SpeechModels,
        brain: ScriptedBrain,
        *,
        assistant: str | None = None,
        settle_s: float = 10.0,
    ) -> None:
        self.events: list[Any] = []
        self.brain = brain
        self.settle_s = settle_s
        self.loop = CallLoop(
            engine, speech, assistant=assistant, channel="simulate", sink=self.events.append
        )
        self.rate = self.loop.rate
        self._gate = threading.Event()
        self._gate.set()
        self._jobs = _TrackedJobs()
        self.loop._jobs = self._jobs
        self.loop._to_mouth = _GatedSays(self._gate)
        brain.clock = lambda: self.loop.t_ms
        self.out: list[Samples] = []

    @property
    def t_ms(self) -> int:
        return self.loop.t_ms

    @property
    def ended(self) -> bool:
        return self.loop.ended.is_set()

    def start(self) -> SteppedCall:
        self.loop.start()
        self.settle()
        return self

    # -- the clock ------------------------------------------------------------------------------

    def step(self, frame: Samples | None = None) -> Samples:
        loop = self.loop
        if frame is None:
            frame = np.zeros(loop.frame, np.float32)
        closing = loop._closing
        self._gate.clear()
        try:
            out = loop.step(frame)
        finally:
            self._gate.set()
        self.brain.tick()
        # the goodbye played out: the loop hangs up on a thread of its own
        if closing and not loop._closing and not loop.ended.wait(self.settle_s):
            raise AssertionError(f"the call did not end: {kinds(self.events)}")
        self.settle()
        self.out.append(out)
        return out

    def feed(self, frames: list[Samples]) -> None:
        for f in frames:
            if self.ended:
                return
            self.step(f)

    def speak(self, ms: int) -> None:
        """The caller speaks for `ms` (a tone the scripted recogniser hears as its next line)."""
        self.feed(speech_frames(ms, self.rate))

    def silence(self, ms: int) -> None:
        self.feed(silent_frames(ms, self.rate))

    def until(self, etype: str, *, limit_ms: int = 60_000) -> Any:
        """Silent steps until the loop reports an `etype` event (or the call ends); returns it."""
        start = len(self.events)
        deadline = self.t_ms + limit_ms
        while self.t_ms < deadline:
            for e in self.events[start:]:
                if kinds([e]) == [etype]:
                    return e
            if self.ended:
                break
            self.step()
        raise AssertionError(f"no {etype} within {limit_ms} ms: {kinds(self.events)}")

    def quiet_until_idle(self, *, limit_ms: int = 60_000) -> None:
        """Silent steps until the box is silent and has nothing to do."""
        deadline = self.t_ms + limit_ms
        while self.loop.busy or self.loop.playout.playing:
            if self.t_ms >= deadline:
                raise AssertionError(f"still busy after {limit_ms} ms: {kinds(self.events)}")
            self.step()

    def hangup(self, reason: str = "caller hung up") -> None:
        self.loop.hangup(reason)

    # -- waiting for the threads ----------------------------------------------------------------

    def _quiet(self) -> bool:
        loop = self.loop
        if loop.ended.is_set():
            return True
        with loop._lock:
            if loop._mouth_pending > 0:
                return False
        return self._jobs.idle() or self.brain.holding()

    def settle(self) -> None:
        deadline = time.monotonic() + self.settle_s
        while not self._quiet():
            if time.monotonic() > deadline:
                raise AssertionError(f"the call loop did not settle: {kinds(self.events)}")
            time.sleep(0.0002)
