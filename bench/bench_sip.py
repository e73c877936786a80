"""SIP benchmark: real calls through kamailio on loopback to `voicebox run` (the starter team on
the default model), with 1, 2 and 4 callers at once, every caller speaking two turns (a handoff to
scheduling, then a follow-up).

Per concurrency level: turn latency as the caller hears it (the caller's end of speech to the
first box audio in the caller's recording, same 20 ms media clock), the handoff gap (the end of
the announcement to the target's first reply audio, from the box's events), media callback timing
at the box's ports (gap p99/max, late frames = a callback more than 40 ms after the previous one),
RTP loss and jitter, and the daemon's CPU (share of one core) and RSS. Markdown to stdout, JSON to
bench/results/sip.json.

    .venv/bin/python bench/bench_sip.py [--levels 1,2,4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests/e2e"))

from bench_routing import machine, summary  # noqa: E402
from sipkit import (  # noqa: E402
    GREETING_MS,
    Kamailio,
    Proc,
    Wavs,
    box_config,
    start_box,
    start_call,
    turn_latencies,
)

from appliance.config import Voice, load_config  # noqa: E402
from appliance.speech.voices import SpeechModels  # noqa: E402

TURNS = [
    "I'd like to book an appointment for Tuesday.",
    "Tuesday at ten in the morning works for me.",
]


def proc_usage(pid: int) -> tuple[float, float, float]:
    """(cpu seconds, RSS MB, peak RSS MB) of a process."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    status = Path(f"/proc/{pid}/status").read_text()
    vals = {ln.split(":")[0]: ln.split()[1] for ln in status.splitlines() if ln.startswith("Vm")}
    return cpu, int(vals["VmRSS"]) / 1024, int(vals["VmHWM"]) / 1024


def handoff_gaps(box: Proc, since: int, speech: SpeechModels, rate: int) -> list[float]:
    voice = Voice()
    out = []
    starts = box.of("audio_start", since)
    for a in (e for e in starts if e["kind"] == "announcement"):
        ms = len(speech.phrase(voice, a["text"])) * 1000 / rate
        reply = next(
            (e for e in starts if e["call"] == a["call"] and e["kind"] == "reply"
             and e["t_ms"] >= a["t_ms"]),
            None,
        )  # fmt: skip
        if reply is not None:
            out.append(max(0.0, reply["t_ms"] - (a["t_ms"] + ms)))
    return out


def run_level(
    n: int, rounds: int, box: Proc, kam: Kamailio, wavs: Wavs, speech: SpeechModels, tmp: Path
) -> dict[str, Any]:
    latencies: list[float] = []
    gaps: list[float] = []
    media: list[dict[str, Any]] = []
    cpu0, _, _ = proc_usage(box.proc.pid)
    t0 = time.monotonic()
    rss: list[float] = []
    for r in range(rounds):
        mark = box.mark()
        callers = []
        for i in range(n):
            name = f"c{n}-{r}-{i}"
            wav = wavs.script(name, [(GREETING_MS + 250 * i, TURNS[0]), (6000, TURNS[1])], 9000)
            callers.append(
                (name, start_call(f"sip:100@{kam.host}", wav, tmp / f"{name}-heard.wav",
                                  "--tail", "0", log=tmp / f"{name}.log"))
            )  # fmt: skip
        for name, c in callers:
            done = c.wait_for(lambda e: e["type"] == "done", 180)
            latencies += turn_latencies(wavs.spans[f"{name}.wav"], done["heard_ms"])
            c.stop()
            rss.append(proc_usage(box.proc.pid)[1])
        time.sleep(1.0)
        for e in box.of("call_ended", mark):
            media.append(e["stats"])
        gaps += handoff_gaps(box, mark, speech, 8000)
    cpu1, _, peak = proc_usage(box.proc.pid)
    wall = time.monotonic() - t0
    rx_p99 = [m["media"]["rx"]["gap_p99_ms"] for m in media]
    tx_p99 = [m["media"]["tx"]["gap_p99_ms"] for m in media]
    return {
        "calls_at_once": n,
        "calls": len(media),
        "turn_latency_ms": summary(latencies),
        "handoff_gap_ms": summary(gaps),
        "frames_rx": sum(m["media"]["rx"]["frames"] for m in media),
        "late_frames": sum(m["media"]["rx"]["late"] + m["media"]["tx"]["late"] for m in media),
        "callback_gap_p99_ms": round(max(rx_p99 + tx_p99), 2),
        "callback_gap_max_ms": round(
            max(m["media"][d]["gap_max_ms"] for m in media for d in ("rx", "tx")), 2
        ),
        "rtp_lost": sum(m.get("rtp", {}).get("rx_lost", 0) for m in media),
        "rtp_jitter_ms_max": max(m.get("rtp", {}).get("rx_jitter_ms", 0.0) for m in media),
        "cpu_cores": round((cpu1 - cpu0) / wall, 2),
        "rss_mb": round(max(rss), 0),
        "rss_peak_mb": round(peak, 0),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--levels", default="1,2,4")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-sip-"))
    speech = SpeechModels(load_config())
    wavs = Wavs(speech, tmp)
    kam = Kamailio(tmp)
    kam.start()
    box = start_box(box_config(tmp / "box.yaml", kam), tmp, name="box")
    box.wait_for(lambda e: e["type"] == "registration" and e["state"] == "registered", 30)
    results = []
    try:
        for n in levels:
            res = run_level(n, args.rounds, box, kam, wavs, speech, tmp)
            results.append(res)
            print(json.dumps(res), file=sys.stderr, flush=True)
    finally:
        box.stop()
        kam.stop()
    out = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "levels": results}
    (ROOT / "bench/results/sip.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"SIP calls through kamailio on loopback; {out['machine']}\n")
    print(
        "| calls at once | turn latency median / p95 ms | handoff gap median / p95 ms | "
        "late frames / frames | callback gap p99 / max ms | RTP lost | CPU cores | RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        t, g = r["turn_latency_ms"], r["handoff_gap_ms"]
        print(
            f"| {r['calls_at_once']} | {t['median']} / {t['p95']} (n={t['n']}) | "
            f"{g['median']} / {g['p95']} | {r['late_frames']} / {r['frames_rx']} | "
            f"{r['callback_gap_p99_ms']} / {r['callback_gap_max_ms']} | {r['rtp_lost']} | "
            f"{r['cpu_cores']} | {r['rss_mb']:.0f} (peak {r['rss_peak_mb']:.0f}) |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
