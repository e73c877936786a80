"""`voicebox simulate`: one call whose caller is a WAV file, through the real loop.

The box's clock is the audio clock (20 ms per frame). While the box is working on a turn the
frames move in real time, so every latency is real; while it only waits or plays audio it has
already made, the clock runs as fast as the machine allows (unless `realtime`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from appliance.audio.pcm import Samples, resample, split_frames
from appliance.audio.wav import WavAudio
from appliance.call import CallLoop, Sink
from appliance.call_events import CallEvent
from appliance.engine import Engine
from appliance.speech.voices import SpeechModels

_LOGGER = logging.getLogger(__name__)


@dataclass
class SimulationResult:
    box_audio: Samples
    rate: int
    events: list[dict[str, Any]] = field(default_factory=list)  # as `--json` prints them
    end_reason: str = ""
    stream: list[CallEvent] = field(default_factory=list)  # the same events, typed


def simulate(
    engine: Engine,
    speech: SpeechModels,
    caller: WavAudio,
    *,
    assistant: str | None = None,
    realtime: bool = False,
    tail_ms: int = 1000,
    max_extra_s: float = 120.0,
    hangup_at_ms: int | None = None,
    sink: Sink | None = None,
) -> SimulationResult:
    """Run one call; the caller hangs up `tail_ms` after its audio ended and the box is quiet,
    or at `hangup_at_ms` whatever is going on."""
    stream: list[CallEvent] = []

    def collect(ev: CallEvent) -> None:
        stream.append(ev)
        if sink is not None:
            sink(ev)

    rate = speech.cfg.speech.line_rate
    frames = split_frames(resample(caller.samples, caller.rate, rate), rate)
    loop = CallLoop(engine, speech, assistant=assistant, channel="simulate", sink=collect)
    loop.start()
    silence = np.zeros(loop.frame, dtype=np.float32)
    out: list[Samples] = []
    quiet_ms = 0
    limit = len(frames) + int(max_extra_s * 50)
    last = time.perf_counter()
    i = 0
    while not loop.ended.is_set():
        frame = frames[i] if i < len(frames) else silence
        out.append(loop.step(frame))
        i += 1
        if realtime or loop.busy:
            time.sleep(max(0.0, 0.02 - (time.perf_counter() - last)))
        last = time.perf_counter()
        if hangup_at_ms is not None and loop.t_ms >= hangup_at_ms:
            loop.hangup("caller hung up")
        elif i >= len(frames):
            quiet_ms = 0 if (loop.busy or loop.playout.playing) else quiet_ms + 20
            if quiet_ms >= tail_ms:
                loop.hangup("caller hung up")
            elif i >= limit:
                loop.hangup("simulation time limit")
    loop.ended.wait(timeout=30)
    events = [ev.to_wire() for ev in stream]
    return SimulationResult(np.concatenate(out), rate, events, loop.end_reason, stream)
