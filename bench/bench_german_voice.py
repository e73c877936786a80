"""German voice benchmark: which offline voice a German caller understands best.

No German Piper voice installs offline. Candidates: espeak-ng's German voice (formant, at two
speeds and a male variant) and the Piper joe voice reading German with English phonemes (what
the box did before) or with German phonemes (`voice.phonemes: de`). Each of 20 German sentences
the German assistant says is synthesized, sent through the phone line and recognised by whisper
base in German: the round-trip WER stands in for a German listener (a weak one: whisper base
also hallucinates on short robotic clips). Markdown to stdout; JSON to
bench/results/german_voice.json.

    .venv/bin/python bench/bench_german_voice.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_asr_languages import line_audio  # noqa: E402
from bench_routing import machine, summary  # noqa: E402

from appliance.audio.callers import espeak  # noqa: E402
from appliance.models import model_path  # noqa: E402
from appliance.speech.tts import PiperTts  # noqa: E402
from appliance.speech.wer import wer  # noqa: E402
from appliance.speech.whisper_asr import WhisperModel  # noqa: E402

SENTENCES = [
    "Guten Tag, hier ist der deutschsprachige Service.",
    "Wie kann ich Ihnen helfen?",
    "Wir sind Montag bis Freitag geöffnet.",
    "Am Sonntag ist das Büro geschlossen.",
    "Unser Büro ist neben dem Hauptbahnhof.",
    "Parkplätze gibt es hinter dem Gebäude.",
    "Ich gebe Ihr Anliegen an das Team weiter.",
    "Jemand aus dem Büro ruft Sie zurück.",
    "Einen Moment bitte.",
    "Das tut mir leid, das habe ich nicht verstanden.",
    "Könnten Sie das bitte wiederholen?",
    "Ich verbinde Sie mit einer Kollegin.",
    "Wie ist Ihr Name, bitte?",
    "Unter welcher Nummer erreichen wir Sie?",
    "Haben Sie den Drucker schon neu gestartet?",
    "Dazu habe ich hier leider keine Angaben.",
    "Ich kann eine Nachricht aufnehmen.",
    "Vielen Dank für Ihren Anruf.",
    "Auf Wiederhören und einen schönen Tag.",
    "Das Premium Paket kostet hundertneunundneunzig Dollar im Monat.",
]


def candidates() -> dict[str, Callable[[str], tuple[Any, int]]]:
    joe = PiperTts(model_path("piper-joe"))
    joe_de = PiperTts(model_path("piper-joe"), phonemes="de")
    return {
        "espeak-ng de, speed 150": lambda t: espeak(t, voice="de", speed=150),
        "espeak-ng de, speed 130": lambda t: espeak(t, voice="de", speed=130),
        "espeak-ng de+m3, speed 140": lambda t: espeak(t, voice="de+m3", speed=140),
        "piper joe, English phonemes": lambda t: (joe.speak(t), joe.rate),
        "piper joe, German phonemes (phonemes: de)": lambda t: (joe_de.speak(t), joe_de.rate),
        "piper joe, German phonemes, length_scale 1.15": lambda t: (
            joe_de.speak(t, length_scale=1.15),
            joe_de.rate,
        ),
    }


def capped(refs: list[str], hyps: list[str]) -> float:
    """Mean sentence WER, each capped at 1: a hallucinated loop counts as one lost sentence."""
    return sum(min(1.0, wer([r], [h])) for r, h in zip(refs, hyps, strict=True)) / len(refs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="Piper samples: each take differs")
    args = ap.parse_args()
    ear = WhisperModel(model_path("whisper-base"), language="de")
    refs = SENTENCES * args.repeats
    results: dict[str, Any] = {"machine": machine(), "sentences": len(refs), "voices": {}}
    for name, say in candidates().items():
        hyps, ms = [], []
        for text in refs:
            t0 = time.perf_counter()
            speech = say(text)
            ms.append((time.perf_counter() - t0) * 1000)
            hyps.append(ear.recognise(line_audio(speech, text))[0])
        results["voices"][name] = {
            "wer": round(wer(refs, hyps), 3),
            "sentence_wer_capped": round(capped(refs, hyps), 3),
            "synth_ms": summary(ms),
            "examples": [{"said": s, "heard": h} for s, h in zip(refs, hyps, strict=True)][
                :5
            ],
        }
        print(f"{name}: WER {results['voices'][name]['wer']}", file=sys.stderr, flush=True)
    print(f"Machine: {results['machine']}; {len(refs)} takes ({args.repeats} of each sentence)\n")
    print("| voice | round-trip WER | sentence WER, capped at 1 | synthesis ms median / p95 |")
    print("|---|---|---|---|")
    for name, r in results["voices"].items():
        syn, cap = r["synth_ms"], r["sentence_wer_capped"]
        print(f"| {name} | {r['wer']:.3f} | {cap:.3f} | {syn['median']:.0f} / {syn['p95']:.0f} |")
    out = ROOT / "bench/results/german_voice.json"
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
