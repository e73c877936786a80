"""`voicebox tui` logs to tui.log in the data directory; the file rotates instead of growing."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.app import LOG_BACKUPS, LOG_MAX_BYTES, log_to_file


@pytest.fixture()
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    for h in saved:
        root.addHandler(h)
    root.setLevel(level)


def test_tui_log_rotates_past_its_limit_and_keeps_three_old_files(
    tmp_path: Path, root_handlers: None
) -> None:
    log = tmp_path / "data" / "tui.log"
    log.parent.mkdir()
    log.write_text("an old line\n")
    log.chmod(0o644)  # as an earlier version left it
    log_to_file(log)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    line = "x" * 1000
    lines = 5 * LOG_MAX_BYTES // len(line)  # five times the limit
    for i in range(lines):
        logging.getLogger("tui.test").warning("%d %s", i, line)
    files = sorted(p.name for p in log.parent.iterdir())
    assert files == ["tui.log", *(f"tui.log.{n}" for n in range(1, LOG_BACKUPS + 1))]
    for p in log.parent.iterdir():
        assert p.stat().st_size <= LOG_MAX_BYTES
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    assert f" {lines - 1} " in log.read_text()  # the newest line is in the current file
    assert LOG_MAX_BYTES == 1 << 20 and LOG_BACKUPS == 3
