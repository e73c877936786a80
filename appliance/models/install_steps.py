"""Steps the installer, the verifier and `models add` share: the models lock, the space
check, progress lines, picking manifest entries, the checksum-mismatch error."""

from __future__ import annotations

import fcntl
import logging
import math
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from appliance.errors import ModelError
from appliance.models.hashing import MB
from appliance.models.manifest import Manifest, ModelEntry

_LOGGER = logging.getLogger(__name__)

Progress = Callable[[str], None]
"""A callback receiving one human-readable progress line at a time."""


def say(progress: Progress | None, message: str) -> None:
    """Log a progress line and pass it to the caller's callback."""
    _LOGGER.info("%s", message)
    if progress is not None:
        progress(message)


def pick_entries(manifest: Manifest, names: list[str] | None) -> list[ModelEntry]:
    """Entries for `names` in order without repeats (None: the defaults)."""
    if names is None:
        return manifest.defaults()
    return [manifest.get(name) for name in dict.fromkeys(names)]


@contextmanager
def models_lock(root: Path, progress: Progress | None = None) -> Iterator[None]:
    """Hold `<root>/.lock` so two installs never write the same folder at once."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise ModelError(f"cannot use models folder {root}: {err.strerror or err}") from err
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(progress, f"waiting for another model install in {root}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def check_space(label: str, need: int, folder: Path) -> None:
    """ModelError if `folder`'s filesystem has fewer than `need` bytes free."""
    free = shutil.disk_usage(folder).free
    if need > free:
        raise ModelError(
            f"not enough disk space for {label}: need {math.ceil(need / MB)} MB, "
            f"{free // MB} MB free in {folder}"
        )


def mismatch_error(
    label: str, expected: str, got: str, expected_size: int, size: int
) -> ModelError:
    """The one-line error for bytes whose checksum (or size) is not the manifest's."""
    sizes = "" if size == expected_size else f" (size {size}, expected {expected_size})"
    return ModelError(f"checksum mismatch for {label}: expected {expected}, got {got}{sizes}")
