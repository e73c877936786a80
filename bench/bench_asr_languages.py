"""ASR language benchmark: which whisper model hears a German caller, and at what cost.

German callers (espeak-ng's German voice) and English callers (Piper joe and espeak-ng en-us),
all through the phone line (8 kHz, band-limited) and resampled to 16 kHz as the call loop does.
For each model it measures the WER, the time one recognition takes (median, p95) and the
real-time factor; for the multilingual models also how often whisper's own language detection
names the caller's language. There is no German Piper voice that installs offline, so the German
caller is espeak-ng's (robotic) voice only. Markdown to stdout; JSON to
bench/results/asr_languages.json.

    .venv/bin/python bench/bench_asr_languages.py [--models whisper-tiny.en,whisper-base]
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
from bench_voice import ratio  # noqa: E402

from appliance.audio.callers import CallerScript, espeak, piper  # noqa: E402
from appliance.audio.pcm import resample  # noqa: E402
from appliance.config import LanguageCheck  # noqa: E402
from appliance.models import model_path  # noqa: E402
from appliance.speech.tts import PiperTts  # noqa: E402
from appliance.speech.wer import wer  # noqa: E402
from appliance.speech.whisper_asr import WhisperModel  # noqa: E402

GERMAN = [
    "Guten Tag, sprechen Sie Deutsch?",
    "Wann haben Sie am Samstag geöffnet?",
    "Mein Drucker funktioniert nicht mehr.",
    "Ich möchte einen Termin für Dienstag vereinbaren.",
    "Wie viel kostet das Premium Paket?",
    "Wo ist Ihr Büro?",
    "Unser Internet ist seit heute Morgen ausgefallen.",
    "Können Sie mich bitte zurückrufen?",
    "Ich habe mein Passwort vergessen.",
    "Ich möchte mit einem Techniker sprechen.",
    "Gibt es Parkplätze in der Nähe?",
    "Der Server antwortet überhaupt nicht.",
]


def english() -> list[str]:
    data = yaml.safe_load((ROOT / "tests/flows/voice_utterances.yaml").read_text())
    return [u["text"] for u in data["utterances"]]


def line_audio(speech: tuple[Any, int], text: str) -> Any:
    sc = CallerScript().pause(200).say(speech, text).pause(200)
    return resample(sc.audio, sc.rate, 16000)


def run(model: WhisperModel, clips: list[tuple[str, Any]], language: str) -> dict[str, Any]:
    refs, hyps, ms, rtf = [], [], [], []
    detected = 0
    multilingual = model.model.model.is_multilingual
    for text, audio in clips:
        t0 = time.perf_counter()
        heard, _conf = model.recognise(audio)
        took = time.perf_counter() - t0
        refs.append(text)
        hyps.append(heard)
        ms.append(took * 1000)
        rtf.append(took / (len(audio) / 16000))
        if multilingual:
            lang, _p, _all = model.model.detect_language(audio)
            detected += lang == language
        print(f"  {took * 1000:6.0f} ms  {text!r} -> {heard!r}", file=sys.stderr, flush=True)
    out: dict[str, Any] = {
        "wer": round(wer(refs, hyps), 3),
        "asr_ms": summary(ms),
        "rtf": ratio(rtf),
        "examples": [{"said": r, "heard": h} for r, h in zip(refs, hyps, strict=True)][:4],
    }
    if multilingual:
        out["language_detected"] = f"{detected}/{len(clips)}"
    return out


def language_check(sets: dict[str, Any], threads: int) -> dict[str, Any]:
    """How often the default check (LanguageCheck) hears German: tiny.en's confidence below the
    bound and German's probability above the floor; on English callers it must not fire."""
    check = LanguageCheck()
    ear = WhisperModel(model_path("whisper-tiny.en"), threads=threads)
    base = WhisperModel(model_path(check.model), threads=threads)
    out: dict[str, Any] = {
        "below_confidence": check.below_confidence,
        "min_probability": check.min_probability,
        "sets": {},
    }
    for set_name, (_language, clips) in sets.items():
        fired, extra = 0, []
        for _text, audio in clips:
            _heard, confidence = ear.recognise(audio)
            if confidence >= check.below_confidence:
                continue
            t0 = time.perf_counter()
            p_de = base.languages(audio).get("de", 0.0)
            extra.append((time.perf_counter() - t0) * 1000)
            fired += p_de >= check.min_probability
        out["sets"][set_name] = {"fired": f"{fired}/{len(clips)}", "extra_ms": summary(extra)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="whisper-tiny.en,whisper-base")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    tts = PiperTts(model_path("piper-joe"), threads=1)
    sets = {
        "de/espeak": ("de", [(t, line_audio(espeak(t, voice="de", speed=150), t)) for t in GERMAN]),
        "en/piper": (
            "en",
            [(t, line_audio(piper(tts, t, length_scale=1.1), t)) for t in english()],
        ),
        "en/espeak": ("en", [(t, line_audio(espeak(t, speed=150), t)) for t in english()]),
    }
    results: dict[str, Any] = {"machine": machine(), "threads": args.threads, "models": {}}
    for name in args.models.split(","):
        per: dict[str, Any] = {}
        for set_name, (language, clips) in sets.items():
            # an English-only model hears every caller as English (what the box did before)
            language_used = "en" if name.endswith(".en") else language
            model = WhisperModel(model_path(name), threads=args.threads, language=language_used)
            print(f"{name} on {set_name} (language={language_used})", file=sys.stderr)
            per[set_name] = run(model, clips, language)
        results["models"][name] = per
    results["language_check"] = language_check(sets, args.threads)

    print(f"Machine: {results['machine']}; {args.threads} threads\n")
    print("| model | callers | WER | recognition ms median / p95 | RTF median | language found |")
    print("|---|---|---|---|---|---|")
    for name, per in results["models"].items():
        for set_name, r in per.items():
            print(
                f"| {name} | {set_name} | {r['wer']:.3f} | {r['asr_ms']['median']:.0f} / "
                f"{r['asr_ms']['p95']:.0f} | {r['rtf']['median']:.3f} | "
                f"{r.get('language_detected', 'n/a')} |"
            )
    lc = results["language_check"]
    sets_ = lc["sets"].items()
    print(
        f"\nLanguage check (tiny.en unsure below {lc['below_confidence']}, p(de) at least "
        f"{lc['min_probability']} in whisper-base's detection): "
        + "; ".join(f"{k}: fired {v['fired']}, extra ms {v['extra_ms']}" for k, v in sets_)
    )
    out = ROOT / "bench/results/asr_languages.json"
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
