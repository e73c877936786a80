"""The service unit's settings that protect callers' data and the media threads' timing, and a
check that the SCHED_FIFO code path works with CAP_SYS_NICE instead of root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "voicebox.service"


def _service() -> dict[str, list[str]]:
    """[Service] KEY=VALUE lines (a key may repeat, as systemd allows)."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section == "Service":
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def test_the_unit_keeps_callers_data_private() -> None:
    svc = _service()
    assert svc["UMask"] == ["0027"]
    assert svc["StateDirectory"] == ["voicebox"] and svc["StateDirectoryMode"] == ["0750"]
    assert svc["User"] == ["voicebox"]


def test_the_unit_and_the_tui_resolve_the_same_data_directory() -> None:
    svc = _service()
    assert "VOICEBOX_DATA_DIR=/var/lib/voicebox" in svc["Environment"]
    assert svc["EnvironmentFile"] == ["-/etc/voicebox/voicebox.env"]
    from appliance import paths

    assert str(paths.ENV_FILE) == "/etc/voicebox/voicebox.env"
    assert str(paths.BOX_DATA_DIR) == "/var/lib/voicebox"
    exec_start = svc["ExecStart"][0]
    assert "--db" not in exec_start and "--control" not in exec_start, exec_start
    assert "/var/lib/voicebox" in svc["ReadWritePaths"][0].split()


def test_the_unit_grants_cap_sys_nice_and_nothing_more() -> None:
    svc = _service()
    assert svc["AmbientCapabilities"] == ["CAP_SYS_NICE"]
    assert svc["CapabilityBoundingSet"] == ["CAP_SYS_NICE"]
    assert svc["NoNewPrivileges"] == ["yes"]


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / "voicebox.service"
    # the paths of an installed box do not exist here: point ExecStart at a real binary
    text = UNIT.read_text().replace("/opt/voicebox/.venv/bin/voicebox", "/bin/true")
    unit.write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    noise = ("Failed to", "not running", "Cannot", "bus", "Bus")  # no systemd as PID 1 here
    problems = [
        ln for ln in done.stderr.splitlines()
        if "voicebox.service" in ln and not any(n in ln for n in noise)
    ]  # fmt: skip
    assert not problems, done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="setpriv needs root to switch users")
def test_sched_fifo_works_with_cap_sys_nice_instead_of_root() -> None:
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is missing")
    code = (
        "import logging, os, sys; logging.basicConfig(level=logging.INFO, stream=sys.stdout); "
        "from appliance.sip.media import raise_priority; raise_priority(); "
        "print('policy', os.sched_getscheduler(0))"
    )

    def run(*caps: str) -> str:
        args = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        if caps:
            args += ["--inh-caps=+sys_nice", "--ambient-caps=+sys_nice"]
        done = subprocess.run(
            [*args, "--", sys.executable, "-c", code],
            capture_output=True, text=True, cwd=ROOT, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    with_cap = run("sys_nice")
    assert f"policy {os.SCHED_FIFO}" in with_cap and "runs SCHED_FIFO" in with_cap, with_cap
    without = run()
    assert f"policy {os.SCHED_OTHER}" in without and "keeps normal priority" in without, without
