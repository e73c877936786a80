"""The verification marker `<model folder>/.verified.json`: what was checked, and when.

A file whose size and mtime still equal what the marker recorded right after its checksum
matched is trusted without hashing it again; `verify` re-hashes regardless.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance.models.hashing import MARKER_NAME, PARTIAL_TAG

_LOGGER = logging.getLogger(__name__)


class FileRecord(BaseModel):
    """One verified file."""

    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)

    sha256: str
    """SHA-256 the file had when verified."""
    size: int
    """Size in bytes when verified."""
    mtime_ns: int
    """Modification time (ns) when verified; a change means 'hash it again'."""


class Marker(BaseModel):
    """Contents of `.verified.json`."""

    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)

    name: str = ""
    """Model name."""
    tree_sha256: str | None = None
    """For a tree model: the tree hash the whole folder had when verified."""
    files: dict[str, FileRecord] = Field(default_factory=dict)
    """Verified files by relative path."""

    @classmethod
    def load(cls, folder: Path) -> Marker:
        """The marker in `folder`; an empty one if missing or unreadable."""
        path = folder / MARKER_NAME
        try:
            return cls.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return cls()
        except (OSError, ValidationError) as err:
            _LOGGER.warning("ignoring unreadable marker %s: %s", path, err)
            return cls()

    def save(self, folder: Path) -> None:
        """Write atomically (temp file + rename) into `folder`."""
        path = folder / MARKER_NAME
        tmp = folder / f"{MARKER_NAME}{PARTIAL_TAG}{os.getpid()}"
        try:
            tmp.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def record(self, rel: str, path: Path, sha256: str) -> None:
        """Remember that `path` (relative name `rel`) was just verified to have `sha256`."""
        stat = path.stat()
        self.files[rel] = FileRecord(sha256=sha256, size=stat.st_size, mtime_ns=stat.st_mtime_ns)

    def forget(self, rel: str) -> None:
        """Drop a file that failed verification."""
        self.files.pop(rel, None)

    def trusts(self, rel: str, path: Path, sha256: str, size: int, *, strict: bool) -> bool:
        """True if the marker vouches for `path` having `sha256` and `size`.

        strict also requires the mtime to be unchanged (used to skip re-hashing);
        otherwise only the size is compared with the file (used by `model_path`).
        """
        rec = self.files.get(rel)
        if rec is None or rec.sha256 != sha256 or rec.size != size:
            return False
        try:
            stat = path.stat()
        except OSError:
            return False
        if stat.st_size != size:
            return False
        return not strict or stat.st_mtime_ns == rec.mtime_ns

    def trusts_tree(self, folder: Path, tree_sha256: str, size: int, *, strict: bool) -> bool:
        """True if the marker vouches for the whole folder having `tree_sha256`."""
        if self.tree_sha256 != tree_sha256 or not self.files:
            return False
        if sum(rec.size for rec in self.files.values()) != size:
            return False
        return all(
            self.trusts(rel, folder / rel, rec.sha256, rec.size, strict=strict)
            for rel, rec in self.files.items()
        )
