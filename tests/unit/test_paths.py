"""One place decides the data directory for `voicebox run` (the unit) and `voicebox tui`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from appliance import paths

VARS = ("VOICEBOX_DATA_DIR", "VOICEBOX_DATA", "VOICEBOX_DB", "VOICEBOX_CONTROL", "VOICEBOX_MODELS")


@pytest.fixture()
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No variables set; the box's env file and /var/lib/voicebox moved into tmp_path."""
    for name in VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(paths, "ENV_FILE", tmp_path / "etc" / "voicebox.env")
    monkeypatch.setattr(paths, "BOX_DATA_DIR", tmp_path / "var-lib-voicebox")
    return tmp_path


def test_a_checkout_without_a_box_directory_uses_its_var(box: Path) -> None:
    assert paths.data_dir() == paths.REPO_ROOT / "var"
    assert paths.store_path() == paths.REPO_ROOT / "var" / "voicebox.db"
    assert paths.control_path() == paths.REPO_ROOT / "var" / "control.sock"


def test_the_box_directory_wins_over_the_checkout_when_it_exists(box: Path) -> None:
    (box / "var-lib-voicebox").mkdir()
    assert paths.store_path() == box / "var-lib-voicebox" / "voicebox.db"
    assert paths.control_path() == box / "var-lib-voicebox" / "control.sock"
    # the models stay with the installation (the checkout's var/models)
    assert paths.models_dir() == paths.REPO_ROOT / "var" / "models"


def test_the_env_file_the_unit_reads_decides_for_the_tui_too(box: Path) -> None:
    (box / "etc").mkdir()
    (box / "etc" / "voicebox.env").write_text(
        '# the box\'s settings\nVOICEBOX_DATA_DIR="/srv/phone data"\n\nnot a setting\n'
    )
    (box / "var-lib-voicebox").mkdir()
    assert paths.data_dir() == Path("/srv/phone data")
    assert paths.store_path() == Path("/srv/phone data/voicebox.db")
    assert paths.control_path() == Path("/srv/phone data/control.sock")


def test_the_environment_wins_and_db_and_socket_can_be_set_alone(
    box: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (box / "etc").mkdir()
    (box / "etc" / "voicebox.env").write_text("VOICEBOX_DATA_DIR=/from/file\n")
    monkeypatch.setenv("VOICEBOX_DATA_DIR", str(box / "env"))
    assert paths.data_dir() == box / "env"
    monkeypatch.setenv("VOICEBOX_DB", "/x/y.db")
    assert paths.store_path() == Path("/x/y.db")
    assert paths.control_path() == box / "env" / "control.sock"
    monkeypatch.delenv("VOICEBOX_DATA_DIR")
    monkeypatch.setenv("VOICEBOX_DATA", "/old/name")  # the variable's name before
    assert paths.data_dir() == Path("/old/name")


def test_an_unreadable_box_directory_is_not_taken(
    box: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (box / "var-lib-voicebox").mkdir()
    monkeypatch.setattr(paths.os, "access", lambda p, mode: False)  # as a user outside the group
    assert paths.data_dir() == paths.REPO_ROOT / "var"


def test_daemon_and_tui_open_the_same_store_and_socket(
    box: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`voicebox run` and `voicebox tui` without --db/--control: one answer."""
    from appliance.cli import build_parser, cmd_tui
    from appliance.cli import sip as cli_sip
    from appliance.daemon import service as daemon

    monkeypatch.setenv("VOICEBOX_DATA_DIR", str(box / "data"))
    run = build_parser().parse_args(["run"])
    db = cli_sip.store_file(run)
    assert db is not None
    store, status = daemon.open_daemon_store(db)
    assert store is not None and status is not None and status.state == "ok"
    assert store.path == box / "data" / "voicebox.db" and store.path.is_file()
    store.close()

    seen: dict[str, object] = {}

    def fake_tui(config: Path, **kw: object) -> int:
        seen.update(kw)
        return 0

    monkeypatch.setattr("tui.app.run_tui", fake_tui)
    monkeypatch.setattr("tui.app.log_to_file", lambda path: None)
    assert cmd_tui(build_parser().parse_args(["tui"])) == 0
    assert seen["db"] == box / "data" / "voicebox.db"
    assert seen["control"] == box / "data" / "control.sock" == paths.control_path()


def test_a_missing_data_directory_is_created_0750(box: Path) -> None:
    old = os.umask(0o022)
    try:
        paths.ensure_data_dir(box / "a" / "b")
    finally:
        os.umask(old)
    for d in (box / "a", box / "a" / "b"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o750
    os.chmod(box / "a", 0o755)
    paths.ensure_data_dir(box / "a" / "b")  # existing folders are left alone
    assert stat.S_IMODE((box / "a").stat().st_mode) == 0o755
