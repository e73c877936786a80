"""`voicebox console` without a sound card: a fake PyAudio, fake streams and a fake call loop."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from appliance import console
from appliance.audio.pcm import frame_len, to_bytes, to_float
from appliance.console import Device, list_devices, pick_device, run_console
from appliance.errors import AudioError

INFOS = [
    ("HDA Intel PCH: ALC892 Analog (hw:0,0)", 2, 2, 44100.0),
    ("USB Audio Device: - (hw:1,0)", 1, 0, 48000.0),
    ("USB Headset (hw:2,0)", 1, 2, 48000.0),
    ("default", 32, 32, 44100.0),
    ("HDMI 0 (hw:0,3)", 0, 8, 48000.0),
]


def tone(freq: float, rate: int, start: int, n: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(start, start + n) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def sine_residual(x: np.ndarray, freq: float, rate: int) -> float:
    """RMS of what is left after the best-fitting sine at `freq`, relative to its amplitude."""
    t = np.arange(len(x)) / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
    amp = float(np.hypot(*coef))
    return float(np.sqrt(np.mean((x - basis @ coef) ** 2))) / amp


class FakeStream:
    def __init__(self, kw: dict[str, Any], freq: float = 440.0, fail_read: bool = False) -> None:
        self.kw = kw
        self.freq = freq
        self.fail_read = fail_read
        self.reads = 0
        self.pos = 0
        self.written: list[bytes] = []
        self.started = self.closed = False

    def start_stream(self) -> None:
        self.started = True

    def stop_stream(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True

    def read(self, n: int, exception_on_overflow: bool = True) -> bytes:
        assert self.started and not exception_on_overflow
        if self.fail_read:
            raise OSError(-9981, "Input overflowed")
        time.sleep(0.0005)
        self.reads += 1
        self.pos += n
        return to_bytes(tone(self.freq, self.kw["rate"], self.pos - n, n))

    def write(self, data: bytes) -> None:
        assert self.started
        self.written.append(data)


class FakePA:
    def __init__(
        self,
        infos: list[tuple[str, int, int, float]],
        default_in: int | None = None,
        default_out: int | None = None,
        fail_open: str = "",
        fail_read: bool = False,
    ) -> None:
        self.infos = infos
        self.defaults = {"input": default_in, "output": default_out}
        self.fail_open = fail_open
        self.fail_read = fail_read
        self.streams: dict[str, FakeStream] = {}

    def get_device_count(self) -> int:
        return len(self.infos)

    def get_device_info_by_index(self, i: int) -> dict[str, Any]:
        name, ins, outs, rate = self.infos[i]
        keys = ("name", "maxInputChannels", "maxOutputChannels", "defaultSampleRate")
        return {"index": i, "hostApi": 0, **dict(zip(keys, (name, ins, outs, rate), strict=True))}

    def _default(self, kind: str) -> dict[str, Any]:
        idx = self.defaults[kind]
        if idx is None:
            raise OSError(f"No Default {kind.title()} Device Available")
        return self.get_device_info_by_index(idx)

    def get_default_input_device_info(self) -> dict[str, Any]:
        return self._default("input")

    def get_default_output_device_info(self) -> dict[str, Any]:
        return self._default("output")

    def open(self, **kw: Any) -> FakeStream:
        kind = "input" if kw.get("input") else "output"
        if kind == self.fail_open:
            raise OSError(-9997, "Invalid sample rate")
        self.streams[kind] = FakeStream(kw, fail_read=self.fail_read and kind == "input")
        return self.streams[kind]


class FakeLoop:
    """Records pushed frames, returns a continuous 1 kHz tone from pull()."""

    def __init__(self, rate: int, stop: threading.Event, stop_after: int = 60) -> None:
        self.rate = rate
        self.frame = frame_len(rate)
        self.ended = threading.Event()
        self.stop, self.stop_after = stop, stop_after
        self.pushed: list[np.ndarray] = []
        self.pulled = 0
        self.started: list[bool] = []
        self.hangups: list[str] = []
        self.end_itself = False

    def start(self, *, ears_thread: bool = False) -> None:
        self.started.append(ears_thread)

    def push(self, frame: np.ndarray) -> None:
        assert not self.ended.is_set()
        self.pushed.append(frame)
        if len(self.pushed) == self.stop_after:
            (self.ended if self.end_itself else self.stop).set()

    def pull(self) -> np.ndarray:
        self.pulled += 1
        return tone(1000.0, self.rate, (self.pulled - 1) * self.frame, self.frame)

    def hangup(self, reason: str = "caller hung up") -> None:
        self.hangups.append(reason)
        self.ended.set()


def devices() -> list[Device]:
    return list_devices(FakePA(INFOS))


def test_list_devices() -> None:
    devs = devices()
    assert [d.index for d in devs] == [0, 1, 2, 3, 4]
    assert devs[1] == Device(1, "USB Audio Device: - (hw:1,0)", 1, 0, 48000.0)
    assert list_devices(FakePA([])) == []
    assert pytest.importorskip("pyaudio").paInt16 == console.PA_INT16


def test_pick_by_index_and_name() -> None:
    devs = devices()
    assert pick_device(devs, "1", kind="input").index == 1
    assert pick_device(devs, " 4 ", kind="output").index == 4
    assert pick_device(devs, "headset", kind="input").index == 2
    assert pick_device(devs, "USB", kind="output").index == 2  # the other USB one has no output
    assert pick_device(devs, "DEFAULT", kind="input").index == 3


def test_exact_name_beats_substring() -> None:
    devs = list_devices(FakePA([("default", 2, 2, 48000.0), ("default (pulse)", 2, 2, 48000.0)]))
    assert pick_device(devs, "Default", kind="input").index == 0


def test_pick_default_device() -> None:
    devs = devices()
    assert pick_device(devs, None, kind="input", pa=FakePA(INFOS, default_in=3)).index == 3
    # PortAudio without a default (it raises OSError): the first device with inputs
    assert pick_device(devs, None, kind="input", pa=FakePA(INFOS)).index == 0
    assert pick_device(devs[1:], None, kind="output", pa=FakePA(INFOS)).index == 2


def test_pick_errors_are_clear() -> None:
    devs = devices()
    with pytest.raises(AudioError) as err:
        pick_device(devs, "usb", kind="input")
    msg = str(err.value)
    assert "ambiguous" in msg and "1 'USB Audio Device" in msg and "2 'USB Headset" in msg
    for wanted in ("bluetooth", "99"):
        with pytest.raises(AudioError) as err:
            pick_device(devs, wanted, kind="input")
        assert err.value.message == (
            f"no input device matches '{wanted}'; run voicebox console --list-devices"
        )
    with pytest.raises(AudioError, match=r"device 4 'HDMI 0 \(hw:0,3\)' has no input channels"):
        pick_device(devs, "4", kind="input")


@pytest.mark.parametrize("infos", [[], [("HDMI 0 (hw:0,3)", 0, 8, 48000.0)]])
def test_no_input_device_at_all(infos: list[tuple[str, int, int, float]]) -> None:
    pa = FakePA(infos)
    with pytest.raises(AudioError) as err:
        pick_device(list_devices(pa), None, kind="input", pa=pa)
    assert str(err.value) == (
        "audio: no audio input device found: this box has no sound card "
        "(voicebox simulate --wav works without one)"
    )
    assert "\n" not in str(err.value)


def test_quiet_stderr_silences_fd2_and_restores_it(capfd: pytest.CaptureFixture[str]) -> None:
    with console._quiet_stderr():
        os.write(2, b"ALSA lib confmisc.c:855:(parse_card) cannot find card '0'\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_open_pyaudio_without_pyaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyaudio", None)
    with pytest.raises(AudioError, match="PyAudio is not available"):
        console.open_pyaudio()


def _run(pa: FakePA, in_rate: float, out_rate: float, line_rate: int = 8000) -> FakeLoop:
    stop = threading.Event()
    loop = FakeLoop(line_rate, stop)
    inp = Device(0, "mic", 1, 0, in_rate)
    out = Device(1, "speaker", 0, 2, out_rate)
    run_console(loop, pa, inp, out, stop=stop)
    return loop


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("line_rate", [8000, 16000])
def test_frames_through_the_sound_card(rate: int, line_rate: int) -> None:
    pa = FakePA([])
    loop = _run(pa, float(rate), rate - 0.0001, line_rate)
    ins, outs = pa.streams["input"], pa.streams["output"]
    for s, kind in ((ins, "input"), (outs, "output")):
        assert s.kw["rate"] == rate and s.kw["channels"] == 1 and s.kw[kind] is True
        assert s.kw["frames_per_buffer"] == rate // 50 and s.kw["format"] == console.PA_INT16
        assert s.closed and not s.started
    assert loop.started == [True]
    assert loop.hangups == ["caller hung up"]
    # inbound: every frame is exactly 20 ms at the line rate, and the tone survives resampling
    assert len(loop.pushed) >= loop.stop_after
    assert all(f.dtype == np.float32 and len(f) == loop.frame for f in loop.pushed)
    heard = np.concatenate(loop.pushed)[2 * loop.frame :]
    assert sine_residual(heard, 440.0, line_rate) < 0.002
    # outbound: 20 ms at the device rate for every 20 ms read, a smooth 1 kHz tone (no clicks)
    played = to_float(b"".join(outs.written))
    assert len(played) == ins.reads * (rate // 50)
    assert all(len(w) == 2 * (rate // 50) for w in outs.written)
    assert loop.pulled == ins.reads
    assert sine_residual(played[2 * rate // 50 :], 1000.0, rate) < 0.002


def test_odd_device_rate_still_gives_whole_line_frames() -> None:
    loop = _run(FakePA([]), 11025.0, 11025.0)
    assert {len(f) for f in loop.pushed} == {loop.frame}


def test_loop_ending_itself_is_not_hung_up_again() -> None:
    pa = FakePA([])
    stop = threading.Event()
    loop = FakeLoop(8000, stop)
    loop.end_itself = True
    run_console(loop, pa, Device(0, "mic", 1, 0, 48000.0), Device(1, "spk", 0, 2, 48000.0))
    assert loop.hangups == [] and not stop.is_set()
    assert pa.streams["input"].closed and pa.streams["output"].closed


def test_stream_that_cannot_open_names_the_device() -> None:
    pa = FakePA([], fail_open="output")
    stop = threading.Event()
    loop = FakeLoop(8000, stop)
    with pytest.raises(AudioError, match=r"cannot open output device 1 'speaker'.*Invalid sample"):
        run_console(loop, pa, Device(0, "mic", 1, 0, 48000.0), Device(1, "speaker", 0, 2, 8e3))
    assert pa.streams["input"].closed
    assert loop.started == [] and loop.hangups == []


def test_sound_card_failing_mid_call_hangs_up() -> None:
    pa = FakePA([], fail_read=True)
    loop = FakeLoop(8000, threading.Event())
    with pytest.raises(AudioError, match="the sound card stopped"):
        run_console(loop, pa, Device(0, "mic", 1, 0, 48000.0), Device(1, "spk", 0, 2, 48000.0))
    assert loop.hangups == ["audio device failed"]


# -- the real command on this machine -------------------------------------------------------

VOICEBOX = Path(sys.executable).parent / "voicebox"


def _voicebox(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    if not VOICEBOX.exists():
        pytest.skip(f"{VOICEBOX} is not installed")
    t0 = time.monotonic()
    proc = subprocess.run(
        [str(VOICEBOX), *args], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL
    )
    return proc, time.monotonic() - t0


def test_cli_list_devices() -> None:
    proc, took = _voicebox("console", "--list-devices")
    assert "Traceback" not in proc.stderr and "ALSA lib" not in proc.stderr
    if proc.returncode == 1:
        assert "no audio devices found" in proc.stdout
    else:
        assert proc.returncode == 0 and proc.stdout.startswith("index")
    assert took < 10


def test_cli_without_a_sound_card_fails_fast() -> None:
    listed, _ = _voicebox("console", "--list-devices")
    if listed.returncode == 0:
        pytest.skip("this machine has audio devices")
    proc, took = _voicebox("console")
    assert proc.returncode == 1
    assert "voicebox: audio: no audio input device found" in proc.stderr
    assert "Traceback" not in proc.stderr and "loading the team" not in proc.stderr
    assert took < 10


def test_cli_unknown_device_fails_fast() -> None:
    proc, took = _voicebox("console", "--input", "no-such-device-xyz")
    assert proc.returncode == 1
    assert "voicebox: audio: no " in proc.stderr and "Traceback" not in proc.stderr
    assert took < 10
