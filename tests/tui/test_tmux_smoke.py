"""`voicebox tui` as a technician meets it: in a real terminal (tmux, 80x24) over keys only."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.config import load_config, template_text

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
VOICEBOX = Path(os.environ.get("VIRTUAL_ENV", ".venv")) / "bin" / "voicebox"
COLOUR_256 = re.compile(r"\x1b\[[0-9;]*(38|48);(5|2);")


class Tmux:
    def __init__(self, term: str, command: str) -> None:
        self.name = f"vbx-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                "80",
                "-y",
                "24",
                f"TERM={term} {command}; sleep 30",
            ],
            check=True,
        )

    def keys(self, *keys: str) -> None:
        """One key (or a text, sent literally) at a time, as a person types."""
        for key in keys:
            args = ["-l", key[len("text:") :]] if key.startswith("text:") else [key]
            subprocess.run(["tmux", "send-keys", "-t", self.name, *args], check=True)
            time.sleep(0.2)

    def screen(self, escapes: bool = False) -> str:
        args = ["tmux", "capture-pane", "-p", "-t", self.name] + (["-e"] if escapes else [])
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False)


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    path = tmp_path / "voicebox.yaml"
    path.write_text(template_text("starter"), encoding="utf-8")
    return path


def tui_command(tmp_path: Path, config: Path) -> str:
    exe = VOICEBOX if VOICEBOX.exists() else Path(".venv/bin/voicebox").resolve()
    return f"{exe} tui --config {config} --control {tmp_path}/c.sock --db {tmp_path}/voicebox.db"


@pytest.fixture()
def tmux_256(tmp_path: Path, config: Path) -> Iterator[Tmux]:
    t = Tmux("xterm-256color", tui_command(tmp_path, config))
    yield t
    t.close()


def test_tui_in_tmux_edit_and_save_with_keys(tmux_256: Tmux, config: Path) -> None:
    t = tmux_256
    screen = t.wait_for("F1 Dash")
    assert "F7 Calls" in screen.splitlines()[1]  # every tab fits in 80 columns
    t.wait_for("daemon is not running")
    t.keys("F2")
    t.wait_for("Prompt & Tools: frontdesk")
    t.keys("Down")  # the team list has the focus: next assistant
    t.wait_for("Prompt & Tools: sales")
    t.keys("Tab", "End", "text: (EU)")  # the title field (all selected on focus): append
    t.wait_for("Prompt & Tools: sales")
    t.keys("C-s")
    t.wait_for("Saved")
    assert load_config(config).assistant("sales").title == "Sales (EU)"
    t.keys("F3")
    screen = t.wait_for("warning(s)")
    assert "savable" in screen
    t.keys("C-q")
    time.sleep(1.0)
    assert "F1 Dash" not in t.screen()  # the app quit and gave the terminal back


def test_tui_uses_only_16_colours_on_a_16_colour_terminal(tmp_path: Path, config: Path) -> None:
    t = Tmux("xterm-16color", tui_command(tmp_path, config))
    try:
        t.wait_for("F1 Dash")
        t.keys("F2")
        t.wait_for("Prompt & Tools: frontdesk")
        screen = t.screen(escapes=True)
        assert "\x1b[" in screen  # it is coloured...
        assert not COLOUR_256.search(screen)  # ...with the 16 standard colours only
    finally:
        t.close()
