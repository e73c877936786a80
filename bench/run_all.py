"""Run every benchmark in turn (each loads its own models); run on an otherwise idle machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    "bench_profile_switch.py",
    "bench_routing.py",
    "bench_voice.py",
    "bench_asr_languages.py",
    "bench_german_voice.py",
    "bench_barge_in.py",
    "bench_sip.py",
    "bench_report.py",
    "bench_booking.py",
]


def main() -> int:
    failed = 0
    for name in BENCHES:
        print(f"== {name}", flush=True)
        failed += subprocess.call([sys.executable, str(HERE / name)]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
