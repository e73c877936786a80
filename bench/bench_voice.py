"""Voice benchmark: spoken turns through the real loop on the default models.

For each utterance of tests/flows/voice_utterances.yaml (a Piper caller through the phone line,
one call each, to the starter front desk) it measures, from the caller's true end of speech:
the first sample of the box's answer (the reply, or the announcement on a handoff), split into
endpointing, recognition, routing, LLM to the first sentence and TTS to the first audio; the
handoff gap (announcement, and the target's own reply). Then ASR real-time factor and WER on
Piper and espeak-ng callers, Piper time to first audio and real-time factor, and the RSS of the
process with every model loaded. Markdown to stdout; JSON to bench/results/voice.json.

    .venv/bin/python bench/bench_voice.py [--llm NAME] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_routing import machine, summary  # noqa: E402

from appliance.audio.callers import CallerScript, espeak, piper  # noqa: E402
from appliance.audio.pcm import resample  # noqa: E402
from appliance.audio.wav import WavAudio  # noqa: E402
from appliance.config import load_config  # noqa: E402
from appliance.engine import Engine  # noqa: E402
from appliance.simulate import simulate  # noqa: E402
from appliance.speech.voices import SpeechModels  # noqa: E402
from appliance.speech.wer import wer  # noqa: E402

GREETING_MS = 5500


def ratio(values: list[float]) -> dict[str, float]:
    """median / p95 of a real-time factor, to 3 decimals"""
    s = sorted(values)
    return {
        "n": len(s),
        "median": round(s[len(s) // 2], 3),
        "p95": round(s[min(len(s) - 1, round(0.95 * (len(s) - 1)))], 3),
    }


def rss_mb() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    vals = {ln.split(":")[0]: ln.split()[1] for ln in status.splitlines() if ln.startswith("Vm")}
    return int(vals["VmRSS"]) / 1024, int(vals["VmHWM"]) / 1024


def first(events: list[dict[str, Any]], etype: str, after: int = -1, **match: Any) -> Any:
    for e in events:
        if (
            e["type"] == etype
            and e["t_ms"] >= after
            and all(e.get(k) == v for k, v in match.items())
        ):
            return e
    return None


FOLLOW_UP = "Thank you. Could you tell me a little more about that?"


def measure(
    ev: list[dict[str, Any]], speech: SpeechModels, end: int, text: str
) -> dict[str, Any] | None:
    """The timings of the turn whose caller speech really ended at `end` (call time)."""
    utt = first(ev, "utterance", end)
    routing = first(ev, "routing", end)
    speech_end = first(ev, "speech_end", end)
    if not (utt and routing and speech_end):
        print(f"  (no turn for {text!r})", file=sys.stderr)
        return None
    handoff = first(ev, "handoff", end)
    announce = first(ev, "audio_start", end, kind="announcement")
    reply_audio = first(ev, "audio_start", end, kind="reply")
    sentence = first(ev, "first_sentence", end)
    done = first(ev, "turn_done", end)
    answer = announce if announce is not None else reply_audio
    gap = None
    if announce and reply_audio:
        voice = speech.cfg.assistant(announce["assistant"]).voice
        length = len(speech.phrase(voice, announce["text"])) * 1000 // speech.rate
        gap = reply_audio["t_ms"] - (announce["t_ms"] + length)
    return {
        "text": text,
        "handoff": handoff is not None,
        "first_audio_ms": answer["t_ms"] - end if answer else None,
        "endpoint_ms": speech_end["t_ms"] - end,
        "asr_wait_ms": utt["t_ms"] - speech_end["t_ms"],
        "asr_compute_ms": utt["asr_ms"],
        "speculative": utt["speculative"],
        "route_ms": routing["latency_ms"],
        "llm_first_token_ms": done["timings"].get("first_token_ms") if done else None,
        "llm_first_sentence_ms": sentence["t_ms"] - routing["t_ms"] if sentence else None,
        "tts_first_audio_ms": reply_audio["t_ms"] - sentence["t_ms"]
        if reply_audio and sentence and not handoff
        else None,
        "reply_audio_ms": reply_audio["t_ms"] - end if reply_audio else None,
        "announcement_ms": announce["t_ms"] - end if announce else None,
        "gap_after_announcement_ms": gap,
    }


def turn_rows(
    engine: Engine, speech: SpeechModels, utterances: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """One call per utterance, then a follow-up that stays with whoever answered."""
    tts = speech.voice(engine.cfg.assistants[0].voice)
    rows = []
    for u in utterances:
        script = CallerScript().pause(GREETING_MS)
        script.say(piper(tts, u["text"], length_scale=1.1), u["text"]).pause(9000)
        script.say(piper(tts, FOLLOW_UP, length_scale=1.1), FOLLOW_UP).pause(2500)
        ev = simulate(engine, speech, WavAudio(script.audio, script.rate, 1)).events
        for (_start, end), text in zip(script.spans_ms, script.texts, strict=True):
            row = measure(ev, speech, end, text)
            if row is None:
                continue
            rows.append(row)
            flag = "H" if row["handoff"] else " "
            print(f"  {row['first_audio_ms']:>5} ms  {flag}  {text}", file=sys.stderr, flush=True)
    return rows


def asr_stats(speech: SpeechModels, utterances: list[dict[str, str]]) -> dict[str, Any]:
    model = speech.asr("en")
    tts = speech.voice(speech.cfg.assistants[0].voice)
    out: dict[str, Any] = {}
    voices = {
        "piper": lambda t: piper(tts, t, length_scale=1.1),
        "espeak": lambda t: espeak(t, speed=150),
    }
    for name, voice in voices.items():
        refs, hyps, rtf, ms = [], [], [], []
        for u in utterances:
            sc = CallerScript().pause(200).say(voice(u["text"]), u["text"]).pause(200)
            audio = resample(sc.audio, sc.rate, 16000)
            t0 = time.perf_counter()
            text, _conf = model.recognise(audio)  # type: ignore[attr-defined]
            took = time.perf_counter() - t0
            refs.append(u["text"])
            hyps.append(text)
            ms.append(took * 1000)
            rtf.append(took / (len(audio) / 16000))
        out[name] = {"wer": round(wer(refs, hyps), 3), "asr_ms": summary(ms), "rtf": ratio(rtf)}
    return out


def tts_stats(speech: SpeechModels) -> dict[str, Any]:
    tts = speech.voice(speech.cfg.assistants[0].voice)
    sentences = [
        "Sure.",
        "Of course, I can help with that.",
        "Our premium package costs 199 dollars a month.",
        "Let me check which technician is free on Thursday morning.",
        "I'm sorry to hear the internet is down; have you restarted the router already?",
    ] * 4
    first_ms, rtf = [], []
    for s in sentences:
        t0 = time.perf_counter()
        gen = tts.synthesize(s, rate=speech.rate)
        audio = next(gen)
        took = time.perf_counter() - t0
        first_ms.append(took * 1000)
        rtf.append(took / (len(audio) / speech.rate))
    return {"first_audio_ms": summary(first_ms), "rtf": ratio(rtf)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llm", default=None)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "bench/results/voice.json"))
    args = ap.parse_args()
    utterances = yaml.safe_load((ROOT / "tests/flows/voice_utterances.yaml").read_text())[
        "utterances"
    ]
    if args.limit:
        utterances = utterances[: args.limit]
    cfg = load_config()
    speech = SpeechModels(cfg)
    speech.warm()
    engine = Engine(cfg, llm=args.llm)
    rows = turn_rows(engine, speech, utterances)
    stays = [r for r in rows if not r["handoff"]]
    handoffs = [r for r in rows if r["handoff"]]

    def col(rs: list[dict[str, Any]], key: str) -> list[float]:
        return [float(r[key]) for r in rs if r.get(key) is not None]

    result = {
        "machine": machine(),
        "model": engine.llm_name,
        "line_rate": cfg.speech.line_rate,
        "endpoint_ms_setting": cfg.speech.endpoint_ms,
        "turns": len(rows),
        "first_audio_all": summary(col(rows, "first_audio_ms")),
        "stay_turns": {
            k: summary(col(stays, k))
            for k in (
                "first_audio_ms",
                "endpoint_ms",
                "asr_wait_ms",
                "asr_compute_ms",
                "route_ms",
                "llm_first_token_ms",
                "llm_first_sentence_ms",
                "tts_first_audio_ms",
            )
        },
        "handoff_turns": {
            k: summary(col(handoffs, k))
            for k in (
                "announcement_ms",
                "reply_audio_ms",
                "gap_after_announcement_ms",
                "endpoint_ms",
                "route_ms",
            )
        },
        "speculative_asr_share": round(sum(r["speculative"] for r in rows) / max(1, len(rows)), 2),
        "asr": asr_stats(speech, utterances),
        "tts": tts_stats(speech),
    }
    rss, hwm = rss_mb()
    result["rss_mb"] = round(rss)
    result["peak_rss_mb"] = round(hwm)
    result["rows"] = rows
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    show = {k: v for k, v in result.items() if k != "rows"}
    print(json.dumps(show, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
