"""Runs last (file order): it restarts the PBX under every registered phone."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sipkit import Kamailio, Proc, call, silence_wav

pytestmark = pytest.mark.e2e


def test_the_box_registers_again_after_the_pbx_restarts(
    small_box: Proc, kamailio: Kamailio, sipdir: Path
) -> None:
    kamailio.stop()
    time.sleep(1)
    kamailio.start()  # a fresh kamailio: no registrations
    mark = small_box.mark()
    back = small_box.wait_for(
        lambda e: e["type"] == "registration" and e["state"] == "registered", 30, since=mark
    )
    assert back["account"].startswith("sip:101@")
    rc, events = call(
        f"sip:101@{kamailio.host}", silence_wav(sipdir, 2), sipdir / "after-restart.wav",
        "--tail", "0",
    )  # fmt: skip
    assert rc == 0 and any(e["type"] == "connected" for e in events)
