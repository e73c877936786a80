"""Barge-in benchmark: a caller interrupts the box's reply, through the real loop.

Each call: the starter greeting, a question that gets a long answer, and 1.8 s after the
question the caller speaks over the reply (one of INTERRUPTIONS, Piper through the phone line).
It measures, from the interruption's true onset (known from the generated audio): the barge-in
(playback flushed, generation cancelled), and from the barge-in the last loud box sample and the
cancelled generation's end. Then the endpointer alone on the same phrases said by Piper and
espeak-ng, and the line noises that must not start speech. Markdown to stdout; JSON to
bench/results/barge_in.json.

    .venv/bin/python bench/bench_barge_in.py [--llm NAME] [--calls N]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_routing import machine, summary  # noqa: E402

from appliance.audio.callers import INTERRUPTIONS, CallerScript, espeak, piper  # noqa: E402
from appliance.audio.pcm import rms_dbfs  # noqa: E402
from appliance.audio.vad import SPEECH_THRESHOLD, START_THRESHOLD, Endpointer  # noqa: E402
from appliance.audio.wav import WavAudio  # noqa: E402
from appliance.config import load_config  # noqa: E402
from appliance.engine import Engine  # noqa: E402
from appliance.simulate import simulate  # noqa: E402
from appliance.speech.voices import SpeechModels  # noqa: E402

GREETING_MS = 5500
QUESTION = "What does your company actually do? Tell me everything."
NOISES = [("cough", 250), ("cough", 400), ("hiss", 2000), ("click", 400)]


def ms(event: dict[str, object]) -> int:
    return cast(int, event["t_ms"])


def one_call(engine: Engine, speech: SpeechModels, phrase: str) -> dict[str, Any] | None:
    tts = speech.voice(engine.cfg.assistants[0].voice)
    script = CallerScript().pause(GREETING_MS)
    script.say(piper(tts, QUESTION, length_scale=1.1), QUESTION).pause(1800)
    script.say(piper(tts, phrase, length_scale=1.1), phrase).pause(2500)
    result = simulate(engine, speech, WavAudio(script.audio, script.rate, 1))
    onset = script.spans_ms[1][0]
    barge = next((e for e in result.events if e["type"] == "barge_in" and ms(e) >= onset), None)
    if barge is None:
        print(f"  (no barge-in for {phrase!r}: the reply was over)", file=sys.stderr)
        return None
    t = ms(barge)
    frame = result.rate // 50
    audio = result.box_audio[t * result.rate // 1000 : (t + 1000) * result.rate // 1000]
    loud = [i for i in range(0, len(audio), frame) if rms_dbfs(audio[i : i + frame]) > -60]
    ends = [e for e in result.events if e["type"] == "reply_end" and e["turn"] == 1 and ms(e) >= t]
    return {
        "phrase": phrase,
        "barge_in_ms": t - onset,
        "audio_after_ms": (loud[-1] + frame) * 1000 // result.rate if loud else 0,
        "generation_stop_ms": ms(ends[0]) - t if ends else None,
    }


def vad_starts(script: CallerScript) -> list[int]:
    ep = Endpointer(end_ms=300)
    return [e.t_ms for frame in script.frames_16k() for e in ep.feed(frame) if e.kind == "start"]


def endpointer_stats(speech: SpeechModels, rounds: int) -> dict[str, Any]:
    tts = speech.voice(speech.cfg.assistants[0].voice)
    out: dict[str, Any] = {}
    voices: dict[str, Callable[[str], tuple[Any, int]]] = {
        "piper": lambda t: piper(tts, t, length_scale=1.1),
        "espeak": lambda t: espeak(t, speed=150),
    }
    for name, voice in voices.items():
        lat = []
        for _ in range(rounds if name == "piper" else 1):  # Piper varies, espeak does not
            for phrase in INTERRUPTIONS:
                script = CallerScript().pause(500).say(voice(QUESTION), "").pause(1800)
                script.say(voice(phrase), phrase).pause(500)
                onset = script.spans_ms[1][0]
                starts = [t for t in vad_starts(script) if t >= onset - 50]
                lat.append(float(starts[0] - onset) if starts else 9999.0)
        out[name] = summary(lat) | {"max": max(lat)}
    false_starts = 0
    for seed in range(10):
        for kind, length_ms in NOISES:
            script = CallerScript().pause(800).noise(kind, length_ms, seed=seed).pause(800)
            false_starts += bool(vad_starts(script))
    out["noise"] = {"n": 10 * len(NOISES), "false_starts": false_starts}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llm", default=None)
    ap.add_argument("--calls", type=int, default=16)
    ap.add_argument("--out", default=str(ROOT / "bench/results/barge_in.json"))
    args = ap.parse_args()
    cfg = load_config()
    speech = SpeechModels(cfg)
    speech.warm()
    engine = Engine(cfg, llm=args.llm)
    rows = []
    for i in range(args.calls):
        row = one_call(engine, speech, INTERRUPTIONS[i % len(INTERRUPTIONS)])
        if row is not None:
            rows.append(row)
            print(f"  {row['barge_in_ms']:>4} ms  {row['phrase']}", file=sys.stderr, flush=True)
    engine.close()
    vad = endpointer_stats(speech, rounds=5)

    def col(key: str) -> list[float]:
        return [float(r[key]) for r in rows if r.get(key) is not None]

    barge = summary(col("barge_in_ms"))
    res: dict[str, Any] = {
        "machine": machine(),
        "llm": engine.llm_name,
        "start_threshold": START_THRESHOLD,
        "speech_threshold": SPEECH_THRESHOLD,
        "calls": rows,
        "barge_in_ms": barge | {"max": max(col("barge_in_ms"), default=0.0)},
        "audio_after_ms": summary(col("audio_after_ms")),
        "generation_stop_ms": summary(col("generation_stop_ms")),
        "endpointer": vad,
    }
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    m = res["machine"]
    print(f"Machine: {m}; Silero start {START_THRESHOLD}, speech {SPEECH_THRESHOLD}\n")
    print("| measure | n | median | p95 | max |\n|---|---|---|---|---|")
    b = res["barge_in_ms"]
    print(
        f"| caller's speech onset -> barge-in (audio flushed, LLM cancelled) | {b['n']} | "
        f"{b['median']:.0f} ms | {b['p95']:.0f} ms | {b['max']:.0f} ms |"
    )
    for key, label in (
        ("audio_after_ms", "box audio after the barge-in (last sample above -60 dBFS)"),
        ("generation_stop_ms", "barge-in -> the cancelled generation ended"),
    ):
        s = res[key]
        if s["n"]:
            print(f"| {label} | {s['n']} | {s['median']:.0f} ms | {s['p95']:.0f} ms | |")
    for name in ("piper", "espeak"):
        s = vad[name]
        print(
            f"| endpointer alone, {name} caller: onset -> speech start | {s['n']} | "
            f"{s['median']:.0f} ms | {s['p95']:.0f} ms | {s['max']:.0f} ms |"
        )
    print(f"\nLine noises that started speech: {vad['noise']['false_starts']}/{vad['noise']['n']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
