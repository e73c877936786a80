"""Benchmark: the booking turn on a real CalDAV calendar (Radicale on loopback).

    .venv/bin/python bench/bench_booking.py [--bookings 30] [--busy 300]

Starts Radicale (from the dev dependencies) with `--busy` staff events spread over the next 60
days, then books `--bookings` consultations through the calendar dialogue
(appliance/tools/booking.py on appliance/tools/calendar_client.py), each as a caller would:
"a consultation on <day> at <time>" (free/busy read, the read-back), then "yes" (the arguments
validated, free/busy read again, the event written, read back from the server). Measured: the
offer turn, the yes turn (the caller's confirmation -> the booked sentence is ready) and Piper
synthesising that sentence (-> its first audio; the piper-joe voice, the phone line's rate).
The speech recognition of the "yes" is not in it (the voice bench measures it). Prints median /
p95, PASS/FAIL against the target (p95 of yes turn + synthesis under 1.5 s on a 2-core box) and
writes JSON to `bench/results/booking.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from radicale_server import Radicale  # noqa: E402

from appliance.assistants.spoken_time import spoken_day, spoken_time  # noqa: E402
from appliance.config import load_config  # noqa: E402
from appliance.config.calendar import CalendarServer, Hours  # noqa: E402
from appliance.speech.voices import SpeechModels  # noqa: E402
from appliance.tools.booking import BookingDesk  # noqa: E402
from appliance.tools.calendar_client import CalDavCalendar  # noqa: E402

TARGET_P95_MS = 1500.0
ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=ZONE)
WEEK = "09:00-17:00"
HOURS = Hours(mon=WEEK, tue=WEEK, wed=WEEK, thu=WEEK, fri=WEEK)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bookings", type=int, default=30)
    ap.add_argument("--busy", type=int, default=300)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "booking.json")
    args = ap.parse_args()
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        server = Radicale(Path(tmp) / "radicale").start()
        try:
            staff = server.client_calendar()
            for _ in range(args.busy):
                day = NOW + timedelta(days=rng.randrange(1, 60))
                start = day.replace(hour=rng.randrange(9, 16), minute=rng.choice((0, 30)))
                staff.save_event(dtstart=start, dtend=start + timedelta(minutes=30),  # type: ignore[attr-defined]
                                 summary="staff")  # fmt: skip
            cfg = CalendarServer.model_validate(
                {**server.integration(), "appointments": [{"name": "consultation"}]}
            )
            calendar = CalDavCalendar(cfg, ZONE)
            calendar.events(NOW, NOW + timedelta(days=1))  # log in once, as the box does
            speech = SpeechModels(load_config())
            voice = load_config().assistant("scheduling").voice
            speech.voice(voice).speak("Warm up.", rate=speech.rate)
            offer_ms, yes_ms, tts_ms, total_ms = [], [], [], []
            booked = tries = 0
            while booked < args.bookings:
                tries += 1
                if tries > 20 * args.bookings:
                    raise SystemExit(f"only {booked} of {args.bookings} bookings in {tries} tries")
                day = (NOW + timedelta(days=rng.randrange(1, 60))).date()
                if not HOURS.ranges(day):
                    continue
                at = datetime.combine(day, datetime.min.time(), ZONE).replace(
                    hour=rng.randrange(9, 16))  # fmt: skip
                desk = BookingDesk(calendar, cfg, HOURS, ZONE, "scheduling")
                said = f"a consultation on {spoken_day(day)} at {spoken_time(at)} please"
                t0 = time.perf_counter()
                offer = desk.turn(said, now=NOW, name="Anna Schmidt", phone="+4930111")
                t1 = time.perf_counter()
                if offer is None or not offer.reply.endswith("shall I book it?"):
                    continue  # taken: the caller would pick one of the offered times
                step = desk.turn("yes", now=NOW, name="Anna Schmidt", phone="+4930111")
                t2 = time.perf_counter()
                assert step is not None and step.call is not None and step.call.result == "ok"
                speech.voice(voice).speak(step.reply, rate=speech.rate)
                t3 = time.perf_counter()
                offer_ms.append((t1 - t0) * 1000)
                yes_ms.append((t2 - t1) * 1000)
                tts_ms.append((t3 - t2) * 1000)
                total_ms.append((t3 - t1) * 1000)
                booked += 1
        finally:
            server.stop()
    ok = pct(total_ms, 0.95) < TARGET_P95_MS
    result = {
        "bookings": args.bookings, "busy_events": args.busy, "target_p95_ms": TARGET_P95_MS,
        "pass": ok,
        **{f"{name}_median": round(statistics.median(v), 1) for name, v in (
            ("offer_ms", offer_ms), ("yes_ms", yes_ms), ("tts_ms", tts_ms),
            ("total_ms", total_ms))},
        **{f"{name}_p95": round(pct(v, 0.95), 1) for name, v in (
            ("offer_ms", offer_ms), ("yes_ms", yes_ms), ("tts_ms", tts_ms),
            ("total_ms", total_ms))},
        "machine": {"machine": platform.machine(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
    }  # fmt: skip
    for name, v in (("offer turn (read free/busy, read back)", offer_ms),
                    ("yes turn (validate, re-check, write, read back)", yes_ms),
                    ("Piper: the booked sentence", tts_ms),
                    ("confirmation -> booked sentence ready to play", total_ms)):  # fmt: skip
        print(f"| {name} | {statistics.median(v):.0f} ms | {pct(v, 0.95):.0f} ms |")
    print("PASS" if ok else "FAIL", f"(p95 < {TARGET_P95_MS:.0f} ms)")
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
