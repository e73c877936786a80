"""The TUI and the control client must start fast and without the SIP stack or the models:
importing them loads none of pjsua2, llama_cpp, onnxruntime or vosk (a fresh interpreter each)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pjsua2", "llama_cpp", "onnxruntime", "vosk", "faster_whisper", "piper")


@pytest.mark.parametrize("module", ["appliance.control_client", "tui.app"])
def test_importing_loads_no_heavy_package(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "", f"{module} imports {done.stdout.strip()}"


def test_the_check_sees_a_heavy_import() -> None:
    # the same probe on a module that does load the SIP stack: the check above can fail
    code = f"import sys, appliance.sip.endpoint\nprint([m for m in {HEAVY!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pjsua2" in done.stdout
