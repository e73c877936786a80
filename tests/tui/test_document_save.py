"""Saving the config from the TUI: the daemon keeps its access (owner, group and mode of the file
stay), the backup is private, a file changed on disk is not overwritten unseen, and comments
(which a save cannot keep) are announced. Tests run as root: they chown files to other ids."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from textual.pilot import Pilot

from appliance.config import load_config, template_text
from appliance.errors import ConfigError
from tui.app import VoiceboxApp
from tui.document import HEADER, ConfigDocument, FileChangedError, has_comments

Drive = Callable[[VoiceboxApp, Any], None]
OTHER = 1234  # uid and gid of "the daemon's user", not the one running the tests

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")


def plain_file(tmp_path: Path) -> Path:
    """The starter team without comments."""
    path = tmp_path / "voicebox.yaml"
    data = yaml.safe_load(template_text("starter"))
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def notes(app: VoiceboxApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


@needs_root
def test_save_keeps_owner_group_and_mode_and_the_backup_is_private(tmp_path: Path) -> None:
    path = plain_file(tmp_path)
    os.chown(path, OTHER, OTHER)
    os.chmod(path, 0o640)
    before = path.read_bytes()
    doc = ConfigDocument.open(path)
    doc.set(("assistants", 0, "title"), "Front desk (EU)")
    backup = doc.save()
    st = path.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (OTHER, OTHER, 0o640)
    assert load_config(path).assistants[0].title == "Front desk (EU)"
    assert backup == tmp_path / "voicebox.yaml.bak" and backup.read_bytes() == before
    bst = backup.stat()
    assert (bst.st_uid, bst.st_gid, stat.S_IMODE(bst.st_mode)) == (OTHER, OTHER, 0o600)
    assert not list(tmp_path.glob(".voicebox.yaml.*"))  # no temp file left behind


def test_an_old_world_readable_backup_becomes_private(tmp_path: Path) -> None:
    path = plain_file(tmp_path)
    old = tmp_path / "voicebox.yaml.bak"
    old.write_text("old\n")
    os.chmod(old, 0o644)
    ConfigDocument.open(path).save()
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert old.read_text() != "old\n"


def test_a_new_file_is_private_and_says_who_wrote_it(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "voicebox.yaml"
    doc = ConfigDocument.open(path)  # missing: the starter team
    assert doc.save() is None  # nothing to back up
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith(HEADER) and not has_comments(text)
    assert load_config(path).team.entry == "frontdesk"


def test_a_symlinked_config_stays_a_symlink(tmp_path: Path) -> None:
    real = plain_file(tmp_path)
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    doc = ConfigDocument.open(link)
    doc.set(("team", "max_handoffs"), 3)
    doc.save()
    assert link.is_symlink() and load_config(real).team.max_handoffs == 3


def test_a_file_changed_on_disk_is_not_overwritten_unless_forced(tmp_path: Path) -> None:
    path = plain_file(tmp_path)
    doc = ConfigDocument.open(path)
    assert not doc.changed_on_disk()
    doc.set(("team", "max_handoffs"), 3)
    theirs = yaml.safe_load(path.read_text())
    theirs["team"]["max_handoffs"] = 2  # someone else edits the file meanwhile (same size)
    path.write_text(yaml.safe_dump(theirs, sort_keys=False), encoding="utf-8")
    assert doc.changed_on_disk()
    with pytest.raises(FileChangedError, match="changed on disk since you opened it"):
        doc.save()
    assert load_config(path).team.max_handoffs == 2  # their edit is still there
    assert not (tmp_path / "voicebox.yaml.bak").exists()
    doc.save(force=True)
    assert load_config(path).team.max_handoffs == 3
    assert not doc.changed_on_disk()  # what we wrote is what we compare with now
    doc.set(("team", "max_handoffs"), 1)
    doc.save()  # a second save of ours is not "changed on disk"
    assert load_config(path).team.max_handoffs == 1


def test_a_file_created_after_opening_a_missing_one_counts_as_changed(tmp_path: Path) -> None:
    path = tmp_path / "voicebox.yaml"
    doc = ConfigDocument.open(path)
    plain_file(tmp_path)
    with pytest.raises(FileChangedError):
        doc.save()


def test_touching_the_file_without_changing_it_is_not_a_change(tmp_path: Path) -> None:
    path = plain_file(tmp_path)
    doc = ConfigDocument.open(path)
    later = time.time_ns() + 5_000_000_000
    os.utime(path, ns=(later, later))
    assert not doc.changed_on_disk()


def test_reload_reads_the_file_again(tmp_path: Path) -> None:
    path = plain_file(tmp_path)
    doc = ConfigDocument.open(path)
    doc.set(("team", "max_handoffs"), 3)
    theirs = yaml.safe_load(path.read_text())
    theirs["team"]["max_handoffs"] = 2
    path.write_text(yaml.safe_dump(theirs, sort_keys=False), encoding="utf-8")
    doc.reload()
    assert doc.get(("team", "max_handoffs")) == 2 and not doc.changed_on_disk()


def test_comments_are_found_only_where_yaml_has_them() -> None:
    assert has_comments("# a note\nteam: {}\n")
    assert has_comments("team:\n  entry: frontdesk  # the first one\n")
    assert not has_comments("team:\n  entry: 'front # desk'\n")
    assert not has_comments('a: "x #y"\nb: |\n  # inside a block scalar\n  text\n')
    assert not has_comments("url: http://x/#frag\n")
    assert not has_comments(HEADER + "team: {}\n")  # our own header is not a user's comment
    assert has_comments(HEADER + "team: {}  # theirs\n")
    doc_with = ConfigDocument(Path("x"))
    assert doc_with.has_comments is False


def test_unreadable_bytes_are_a_load_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "voicebox.yaml"
    path.write_bytes(b"team: \xff\xfe\n")
    doc = ConfigDocument.open(path)
    assert not doc.readable and "UTF-8" in doc.load_errors[0]
    with pytest.raises(ConfigError):
        doc.save()


# -- in the TUI -------------------------------------------------------------------------------


def test_tui_warns_once_at_open_that_comments_are_not_kept(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    path = tmp_path / "voicebox.yaml"
    path.write_text(template_text("starter"), encoding="utf-8")  # has comments
    app = make_app(path)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.pause()
        warned = [n for n in notes(app) if "comments in this file are not kept" in n]
        assert len(warned) == 1
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert any(n.startswith("Saved") for n in notes(app))
        assert len([n for n in notes(app) if "comments in this file" in n]) == 1

    drive(app, script)
    assert path.read_text().startswith(HEADER) and not has_comments(path.read_text())


def test_tui_without_comments_does_not_warn(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    app = make_app(plain_file(tmp_path))

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.pause()
        assert not [n for n in notes(app) if "comments" in n]

    drive(app, script)


def test_tui_refuses_a_file_changed_on_disk_then_a_second_ctrl_s_saves(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    path = plain_file(tmp_path)
    app = make_app(path)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.pause()
        app.doc.set(("team", "max_handoffs"), 3)
        theirs = yaml.safe_load(path.read_text())
        theirs["team"]["max_handoffs"] = 2
        path.write_text(yaml.safe_dump(theirs, sort_keys=False), encoding="utf-8")
        await pilot.press("ctrl+s")
        await pilot.pause()
        refused = [n for n in notes(app) if "changed on disk since you opened it" in n]
        assert len(refused) == 1 and "ctrl+r" in refused[0].lower()
        assert load_config(path).team.max_handoffs == 2  # not overwritten
        await pilot.press("ctrl+s")  # again, at once: save anyway
        await pilot.pause()
        assert any(n.startswith("Saved") for n in notes(app))

    drive(app, script)
    assert load_config(path).team.max_handoffs == 3


def test_tui_ctrl_r_reloads_the_changed_file(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    path = plain_file(tmp_path)
    app = make_app(path)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.pause()
        app.doc.set(("team", "max_handoffs"), 3)
        theirs = yaml.safe_load(path.read_text())
        theirs["team"]["max_handoffs"] = 2
        path.write_text(yaml.safe_dump(theirs, sort_keys=False), encoding="utf-8")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.doc.get(("team", "max_handoffs")) == 2
        assert any(n.startswith("Reloaded") for n in notes(app))
        app.doc.set(("team", "max_handoffs"), 1)
        await pilot.press("ctrl+s")  # no refusal now: the document is the file's
        await pilot.pause()

    drive(app, script)
    assert load_config(path).team.max_handoffs == 1


@needs_root
def test_tui_save_keeps_the_daemons_owner(
    tmp_path: Path, make_app: Callable[..., VoiceboxApp], drive: Drive
) -> None:
    path = plain_file(tmp_path)
    os.chown(path, OTHER, OTHER)
    os.chmod(path, 0o600)
    app = make_app(path)

    async def script(app: VoiceboxApp, pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()

    drive(app, script)
    st = path.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (OTHER, OTHER, 0o600)


@needs_root
def test_a_save_that_cannot_keep_the_owner_is_refused_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a technician who is not root would see it (chown to another user is refused)."""
    path = plain_file(tmp_path)
    os.chown(path, OTHER, OTHER)
    before = path.read_bytes()
    doc = ConfigDocument.open(path)
    doc.set(("team", "max_handoffs"), 3)
    st = path.stat()

    def refuse(*args: Any) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", refuse)
    with pytest.raises(ConfigError, match="cannot keep the owner"):
        doc.save()
    assert path.read_bytes() == before and path.stat().st_ino == st.st_ino
    assert not list(tmp_path.glob(".voicebox.yaml.*"))
