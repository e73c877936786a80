"""Audio plumbing without models: PCM, WAV files people bring, the phone line, playout,
streaming resampling, sentence splitting, the utterance floor, WER."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from appliance.audio.pcm import StreamResampler, resample, rms_dbfs, split_frames, to_float
from appliance.audio.phone_line import mulaw_decode, mulaw_encode, phone_line
from appliance.audio.playout import Playout, Segment
from appliance.audio.wav import read_wav, write_wav
from appliance.errors import AudioError
from appliance.speech.asr import Transcript
from appliance.speech.sentences import SentenceSplitter
from appliance.speech.wer import wer


def tone(freq: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_wav_round_trip_and_stereo_44k_is_mixed_down(tmp_path: Path) -> None:
    x = tone(440, 16000)
    write_wav(tmp_path / "a.wav", x, 16000)
    back = read_wav(tmp_path / "a.wav")
    assert back.rate == 16000 and np.abs(back.samples - x).max() < 1e-3

    left, right = tone(440, 44100), tone(440, 44100) * 0.0
    stereo = np.stack([left, right], axis=1)
    with wave.open(str(tmp_path / "s.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes((stereo * 32767).astype("<i2").tobytes())
    s = read_wav(tmp_path / "s.wav")
    assert (s.rate, s.channels_in_file) == (44100, 2)
    assert abs(np.abs(s.samples).max() - 0.25) < 0.01  # the average of both channels


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a readable PCM WAV"),
        (b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk", "not a readable PCM WAV"),
        (b"hello, I am not audio at all" * 10, "not a readable PCM WAV"),
    ],
)
def test_broken_wavs_give_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "bad.wav"
    p.write_bytes(content)
    with pytest.raises(AudioError, match=message):
        read_wav(p)


def test_a_wav_with_no_frames_is_refused(tmp_path: Path) -> None:
    write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32), 8000)
    with pytest.raises(AudioError, match="holds no audio"):
        read_wav(tmp_path / "empty.wav")
    with pytest.raises(AudioError, match="no such file"):
        read_wav(tmp_path / "missing.wav")


def test_phone_line_keeps_the_voice_band_and_cuts_outside_it() -> None:
    rate = 16000
    inside = phone_line(tone(1000, rate), rate)
    low = phone_line(tone(100, rate), rate)
    high = phone_line(tone(3900, rate), rate)
    assert len(inside) == 8000
    assert rms_dbfs(inside[800:]) > -12
    assert rms_dbfs(low[800:]) < rms_dbfs(inside[800:]) - 15
    assert rms_dbfs(high[800:]) < rms_dbfs(inside[800:]) - 15


def test_mulaw_round_trip_error_is_small_and_relative() -> None:
    x = np.linspace(-1, 1, 2001, dtype=np.float32)
    y = mulaw_decode(mulaw_encode(x))
    assert np.abs(y - x).max() < 0.04
    quiet = np.float32(0.001)
    assert abs(mulaw_decode(mulaw_encode(np.array([quiet])))[0] - quiet) < 0.0005


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (16000, 8000), (22050, 8000)])
def test_stream_resampling_matches_whole_file_resampling(src: int, dst: int) -> None:
    x = tone(440, src)
    r = StreamResampler(src, dst)
    n = src // 50
    y = np.concatenate([r(x[i : i + n]) for i in range(0, len(x), n)])
    ref = resample(x, src, dst)
    lag = r.lookahead * dst // src
    assert len(y) == len(ref)
    assert np.abs(y[lag + 100 : -100] - ref[100 : -100 - lag]).max() < 1e-3
    naive = np.concatenate([resample(x[i : i + n], src, dst) for i in range(0, len(x), n)])
    assert np.abs(naive[100:-100] - ref[100:-100]).max() > 0.01  # why the stream version exists


def test_split_frames_pads_the_last_frame() -> None:
    frames = split_frames(np.ones(170, np.float32), 8000)
    assert [len(f) for f in frames] == [160, 160]
    assert frames[1][:10].sum() == 10 and frames[1][10:].sum() == 0
    assert to_float(b"\x00\x80").tolist() == [-1.0]


def test_playout_pops_full_frames_and_tells_what_was_heard_on_flush() -> None:
    p = Playout(8000)
    p.add(Segment("reply", "One two three four.", np.full(800, 0.1, np.float32), 3, "sales"))
    p.add(Segment("reply", "Five six.", np.full(800, 0.2, np.float32), 3, "sales"))
    first = p.pop(160)
    assert len(first) == 160 and [s.text for s in p.started()] == ["One two three four."]
    assert p.started() == []  # reported once
    for _ in range(6):  # 1120 samples in all: the first segment and 320 of the second
        p.pop(160)
    assert [s.text for s in p.started()] == ["Five six."]
    assert p.playing and p.pending_ms() == 60
    heard = p.flush()
    assert heard is not None and heard.turn == 3
    assert heard.text.startswith("One two three four.")
    assert heard.heard_ms == 140
    assert not p.playing and float(np.abs(p.pop(160)).max()) == 0.0
    assert p.flush() is None


def test_sentence_splitter_streams_sentences_and_keeps_abbreviations() -> None:
    s = SentenceSplitter()
    out: list[str] = []
    text = "Sure, Dr. Brown, we open at 9.30 a.m. tomorrow. Anything else? Bye"
    for piece in text.replace(" ", " |").split("|"):
        out += s.feed(piece)
    out += s.flush()
    assert out == ["Sure, Dr. Brown, we open at 9.30 a.m. tomorrow.", "Anything else?", "Bye"]
    first = SentenceSplitter().feed("Thanks for calling us today, I can help with that ")
    assert first == ["Thanks for calling us today,"]


@pytest.mark.parametrize(
    ("text", "speech_ms", "conf", "usable"),
    [
        ("I need a quote.", 1200, 0.8, True),
        ("", 1200, 0.8, False),
        ("Hmm.", 400, 0.9, False),
        ("Yes.", 120, 0.9, False),
        ("Book me in.", 900, 0.05, False),
        ("...", 900, 0.9, False),
    ],
)
def test_the_utterance_floor(text: str, speech_ms: int, conf: float, usable: bool) -> None:
    t = Transcript(text, conf, speech_ms, 0.0, "whisper")
    assert (t.usable(min_speech_ms=250, min_confidence=0.15) is None) == usable


def test_wer_counts_edits_over_reference_words() -> None:
    assert wer(["book me for Tuesday"], ["book me for Tuesday."]) == 0.0
    assert wer(["book me for Tuesday"], ["book for two days"]) == pytest.approx(3 / 4)
    assert wer(["five laptops"], ["5 laptops"]) == 0.0
