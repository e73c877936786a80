"""`voicebox console`: a call with the team through the box's sound card (PyAudio)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from appliance.audio.pcm import Samples, StreamResampler, frame_len, to_bytes, to_float
from appliance.errors import AudioError

_LOGGER = logging.getLogger(__name__)
PA_INT16 = 8  # pyaudio.paInt16 (a PortAudio constant)
Kind = Literal["input", "output"]


class LineLoop(Protocol):
    """What the console needs from a call loop (appliance.call.CallLoop)."""

    frame: int
    ended: threading.Event

    @property
    def rate(self) -> int: ...

    def start(self, *, ears_thread: bool = False) -> None: ...
    def push(self, frame: Samples) -> None: ...
    def pull(self) -> Samples: ...
    def hangup(self, reason: str = "caller hung up") -> None: ...


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    max_input_channels: int
    max_output_channels: int
    default_rate: float

    def channels(self, kind: Kind) -> int:
        return self.max_input_channels if kind == "input" else self.max_output_channels


def list_devices(pa: Any) -> list[Device]:
    keys = ("name", "maxInputChannels", "maxOutputChannels", "defaultSampleRate")
    devices = []
    for i in range(int(pa.get_device_count())):
        name, ins, outs, rate = (pa.get_device_info_by_index(i)[k] for k in keys)
        devices.append(Device(i, str(name), int(ins), int(outs), float(rate)))
    return devices


def default_index(pa: Any, kind: Kind) -> int | None:
    """The system's default device of `kind`, or None when PortAudio has none."""
    try:
        return int(getattr(pa, f"get_default_{kind}_device_info")()["index"])
    except (OSError, KeyError, TypeError, ValueError):
        return None  # PortAudio has no default device of this kind


def pick_device(devices: list[Device], wanted: str | None, *, kind: Kind, pa: Any = None) -> Device:
    """The device to use: by index ("3"), by name substring, or the default (wanted=None)."""
    usable = [d for d in devices if d.channels(kind) > 0]
    if not usable:
        raise AudioError(
            f"no audio {kind} device found: this box has no sound card "
            "(voicebox simulate --wav works without one)"
        )
    if wanted is None:
        idx = default_index(pa, kind) if pa is not None else None
        return next((d for d in usable if d.index == idx), usable[0])
    hint = "; run voicebox console --list-devices"
    if wanted.strip().isdigit():
        found = [d for d in devices if d.index == int(wanted)]
        if found and found[0].channels(kind) == 0:
            raise AudioError(f"device {wanted} '{found[0].name}' has no {kind} channels{hint}")
    else:
        key = wanted.strip().lower()
        exact = [d for d in usable if d.name.lower() == key]
        found = exact or [d for d in usable if key in d.name.lower()]
    if not found:
        raise AudioError(f"no {kind} device matches '{wanted}'{hint}")
    if len(found) > 1:
        names = ", ".join(f"{d.index} '{d.name}'" for d in found)
        raise AudioError(f"{kind} device '{wanted}' is ambiguous: {names}; give the index")
    return found[0]


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send fd 2 to /dev/null: PortAudio's ALSA/JACK probes print pages of noise there."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def open_pyaudio() -> Any:
    try:
        import pyaudio
    except ImportError as err:
        raise AudioError(f"PyAudio is not available ({err}); install pyaudio") from err
    try:
        with _quiet_stderr():
            return pyaudio.PyAudio()
    except OSError as err:
        raise AudioError(f"cannot start PortAudio: {err}") from err


@contextlib.contextmanager
def _stream(pa: Any, dev: Device, kind: Kind, rate: int) -> Iterator[Any]:
    """An opened (not started) mono 16-bit stream, stopped and closed on exit."""
    opts = {kind: True, f"{kind}_device_index": dev.index, "frames_per_buffer": frame_len(rate)}
    try:
        with _quiet_stderr():
            stream = pa.open(format=PA_INT16, channels=1, rate=rate, start=False, **opts)
    except OSError as err:
        raise AudioError(
            f"cannot open {kind} device {dev.index} '{dev.name}' (mono 16-bit {rate} Hz): {err}"
        ) from err
    try:
        yield stream
    finally:
        for close in (stream.stop_stream, stream.close):
            with contextlib.suppress(Exception):
                close()


def run_console(
    loop: LineLoop, pa: Any, inp: Device, out: Device, *, stop: threading.Event | None = None
) -> None:
    """Move 20 ms frames between the sound card and the call until either side hangs up."""
    in_rate, out_rate = round(inp.default_rate), round(out.default_rate)
    halt = threading.Event()
    failed: list[BaseException] = []
    with contextlib.ExitStack() as streams:
        istream = streams.enter_context(_stream(pa, inp, "input", in_rate))
        ostream = streams.enter_context(_stream(pa, out, "output", out_rate))
        streams.callback(halt.set)  # runs first on the way out: the pump stops reading

        def pump() -> None:
            to_line = StreamResampler(in_rate, loop.rate)
            to_card = StreamResampler(loop.rate, out_rate)
            carry = np.zeros(0, np.float32)
            try:
                while not (halt.is_set() or loop.ended.is_set()):
                    data = istream.read(frame_len(in_rate), exception_on_overflow=False)
                    carry = np.concatenate([carry, to_line(to_float(data))])
                    while len(carry) >= loop.frame:  # odd rates: 159 or 161 samples a frame
                        loop.push(carry[: loop.frame].copy())
                        carry = carry[loop.frame :]
                    ostream.write(to_bytes(to_card(loop.pull())))
            except Exception as err:
                _LOGGER.exception("console audio failed")
                failed.append(err)

        loop.start(ears_thread=True)
        istream.start_stream()
        ostream.start_stream()
        pumper = threading.Thread(target=pump, name="console-audio", daemon=True)
        pumper.start()
        _LOGGER.info("console: %r at %d Hz -> %r at %d Hz", inp.name, in_rate, out.name, out_rate)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the caller hangs up
            while not (loop.ended.is_set() or (stop and stop.is_set()) or not pumper.is_alive()):
                loop.ended.wait(0.05)
        halt.set()
        pumper.join(timeout=5)
        if not loop.ended.is_set():
            loop.hangup("audio device failed" if failed else "caller hung up")
    if failed:
        raise AudioError(f"the sound card stopped: {failed[0]}") from failed[0]
