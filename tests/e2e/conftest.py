"""Fixtures of the SIP end-to-end tests: one kamailio, the office's phones, the boxes, the
callers' WAVs (Piper voices through the phone line)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sipkit import Kamailio, Proc, Wavs, box_config, start_box, start_extension


@pytest.fixture(scope="session")
def sipdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sip")


@pytest.fixture(scope="session")
def kamailio(sipdir: Path) -> Iterator[Kamailio]:
    if shutil.which("kamailio") is None and not Path("/usr/sbin/kamailio").exists():
        pytest.fail("kamailio is missing: `make test` installs it (scripts/setup.sh)")
    kam = Kamailio(sipdir)
    kam.start()
    yield kam
    kam.stop()


@pytest.fixture(scope="session")
def wavs(speech_models: Any, sipdir: Path) -> Wavs:
    return Wavs(speech_models, sipdir)


@pytest.fixture(scope="session")
def reception(kamailio: Kamailio, wavs: Wavs, sipdir: Path) -> Iterator[Proc]:
    """Extension 200: the office manager's phone; answers and says hello every few seconds."""
    hello = "Hello, this is reception."
    wav = wavs.script("reception", [(1500, hello)] * 8)
    ext = start_extension(kamailio, "200", wav, sipdir)
    yield ext
    ext.stop()


@pytest.fixture(scope="session")
def oncall(kamailio: Kamailio, sipdir: Path) -> Iterator[Proc]:
    """Extension 202: rings, nobody picks up."""
    ext = start_extension(kamailio, "202", None, sipdir, "--ring-only")
    yield ext
    ext.stop()


@pytest.fixture(scope="session")
def box(kamailio: Kamailio, sipdir: Path) -> Iterator[Proc]:
    """The box on the 1.5B model, registered as 100; warm transfers."""
    cfg = box_config(sipdir / "box.yaml", kamailio, user="100", transfer="warm")
    proc = start_box(cfg, sipdir, name="box")
    proc.wait_for(lambda e: e["type"] == "registration" and e["state"] == "registered", 30)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def small_box(kamailio: Kamailio, sipdir: Path) -> Iterator[Proc]:
    """A box on the 135M model registered as 101: blind transfers, one call at a time, calls
    over the limit redirected to reception."""
    cfg = box_config(
        sipdir / "small.yaml", kamailio, user="101", transfer="blind", max_calls=1,
        overflow="transfer", overflow_to="reception",
    )  # fmt: skip
    proc = start_box(cfg, sipdir, llm="smollm2-135m", name="small")
    proc.wait_for(lambda e: e["type"] == "registration" and e["state"] == "registered", 30)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def control_box(kamailio: Kamailio, sipdir: Path) -> Iterator[tuple[Proc, Path]]:
    """A box on the 135M model registered as 103 (blind transfers), serving its control socket:
    (the `voicebox run` process, the socket path). Its config file is the status's "config"; a
    test that changes the file puts it back and reloads."""
    cfg = box_config(sipdir / "control.yaml", kamailio, user="103", transfer="blind")
    sock = sipdir / "control.sock"
    proc = start_box(cfg, sipdir, llm="smollm2-135m", name="control", control=sock)
    proc.wait_for(lambda e: e["type"] == "registration" and e["state"] == "registered", 30)
    yield proc, sock
    proc.stop()
