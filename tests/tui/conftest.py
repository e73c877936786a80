"""TUI fixtures: a VoiceboxApp on tmp paths, driven by Textual's Pilot from sync tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tui.app import VoiceboxApp

Script = Callable[[VoiceboxApp, Pilot[None]], Awaitable[None]]


@pytest.fixture()
def make_app(tmp_path: Path) -> Callable[..., VoiceboxApp]:
    """An app on tmp paths: no config file (the starter team), `voicebox.db`, flows in `flows/`."""

    def make(config: Path | None = None, **kwargs: object) -> VoiceboxApp:
        opts: dict[str, object] = {
            "control": tmp_path / "c.sock",
            "db": tmp_path / "voicebox.db",
            "flows_dir": tmp_path / "flows",
            "llm": "smollm2-135m",
        }
        opts.update(kwargs)
        return VoiceboxApp(config or tmp_path / "voicebox.yaml", **opts)  # type: ignore[arg-type]

    return make


@pytest.fixture()
def drive() -> Callable[[VoiceboxApp, Script], None]:
    """Run `script(app, pilot)` inside `app.run_test(size=(80, 24))`."""

    def run(app: VoiceboxApp, script: Script) -> None:
        async def main() -> None:
            async with app.run_test(size=(80, 24)) as pilot:
                await script(app, pilot)

        asyncio.run(main())

    return run
