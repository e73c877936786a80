"""Checksums: of one file, of a folder of files (the tree hash), and hash-while-copying."""

from __future__ import annotations

import errno
import hashlib
import http.client
import logging
import os
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from appliance.errors import ModelError

_LOGGER = logging.getLogger(__name__)

CHUNK = 1 << 20
MB = 1_000_000
MARKER_NAME = ".verified.json"
PARTIAL_TAG = ".partial-"
READ_ERRORS = (
    OSError,
    EOFError,
    zlib.error,
    zipfile.BadZipFile,
    tarfile.TarError,
    http.client.HTTPException,
)


def tree_sha256(items: Iterable[tuple[str, str]]) -> str:
    """SHA-256 over the sorted lines "relpath<TAB>sha256<LF>" of (relpath, file sha256) pairs."""
    lines = sorted(f"{rel}\t{digest}\n" for rel, digest in items)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def hash_file(path: Path) -> tuple[str, int]:
    """(sha256 hex, size) of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def tree_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(posix relpath, path) of every regular file under `folder`, minus marker and partials."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for fname in sorted(filenames):
            if fname == MARKER_NAME or PARTIAL_TAG in fname:
                continue
            path = Path(dirpath) / fname
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(folder).as_posix(), path


def hash_tree(folder: Path) -> tuple[str, int, dict[str, tuple[str, int]]]:
    """(tree sha256, total size, {relpath: (sha256, size)}) of an installed folder."""
    found = {rel: hash_file(path) for rel, path in tree_files(folder)}
    digest = tree_sha256((rel, sha) for rel, (sha, _size) in found.items())
    return digest, sum(size for _sha, size in found.values()), found


def read_chunks(stream: BinaryIO, what: str) -> Iterator[bytes]:
    """Chunks of `stream`; a read error becomes a one-line ModelError naming `what`."""
    while True:
        try:
            chunk = stream.read(CHUNK)
        except READ_ERRORS as err:
            raise ModelError(f"cannot read {what}: {err or type(err).__name__}") from err
        if not chunk:
            return
        yield chunk


class HashingWriter:
    """Writes chunks to a file while hashing them; disk-full becomes a one-line ModelError."""

    def __init__(
        self,
        out: BinaryIO,
        label: str,
        expected_size: int,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self._out = out
        self._label = label
        self._expected = expected_size
        self._progress = progress
        self._next_report = 10
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        """Write and hash one chunk, reporting progress every 10% of the expected size."""
        try:
            self._out.write(chunk)
        except OSError as err:
            raise write_error(err, self._label, self._out) from err
        self.digest.update(chunk)
        self.size += len(chunk)
        if self._progress is not None and self._expected > 20 * MB:
            percent = self.size * 100 // self._expected
            if percent >= self._next_report:
                self._progress(
                    f"{self._label}: {min(percent, 100)}% "
                    f"({self.size / MB:.0f}/{self._expected / MB:.0f} MB)"
                )
                self._next_report = (percent // 10 + 1) * 10

    def copy_from(self, stream: BinaryIO, what: str) -> None:
        """Copy all of `stream` (described by `what` in errors) into the file."""
        for chunk in read_chunks(stream, what):
            self.write(chunk)

    def finish(self) -> None:
        """Flush and fsync the file so a crash cannot leave a renamed but empty file."""
        try:
            self._out.flush()
            os.fsync(self._out.fileno())
        except OSError as err:
            raise write_error(err, self._label, self._out) from err


def write_member(stream: BinaryIO, dest: Path, label: str, what: str) -> HashingWriter:
    """Copy one archive or folder member to `dest` (parents made), hashed and fsynced."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as out:
        writer = HashingWriter(out, label, 0)
        writer.copy_from(stream, what)
        writer.finish()
    return writer


def write_error(err: OSError, label: str, out: BinaryIO | None = None) -> ModelError:
    """A one-line ModelError for a failed write (disk full gets its own wording)."""
    where = os.path.dirname(str(getattr(out, "name", ""))) if out is not None else ""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return ModelError(f"disk full while writing {label} in {where or 'the models folder'}")
    return ModelError(f"cannot write {label}: {err.strerror or err}")
