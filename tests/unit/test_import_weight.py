"""The TUI and the control client must start fast and without the SIP stack or the models:
importing them loads none of pjsua2, llama_cpp, onnxruntime or vosk (a fresh interpreter each)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pjsua2", "llama_cpp", "onnxruntime", "vosk", "faster_whisper", "piper")


def heavy_loaded_by(module: str) -> list[str]:
    """The HEAVY packages a fresh interpreter has loaded after `import module`."""
    code = f"import sys, {module}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.split()


@pytest.mark.parametrize("module", ["appliance.daemon.control_client", "tui.app"])
def test_importing_loads_no_heavy_package(module: str) -> None:
    assert heavy_loaded_by(module) == []


def test_the_check_sees_a_heavy_import() -> None:
    # the same probe on a module that does load the SIP stack: the check above can fail
    assert "pjsua2" in heavy_loaded_by("appliance.sip.endpoint")
