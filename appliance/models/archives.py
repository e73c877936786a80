"""Reading bytes out of a source: a whole file, one archive member, or a folder prefix."""

from __future__ import annotations

import logging
import os
import posixpath
import stat
import tarfile
import zipfile
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO, cast

from appliance.models.hashing import READ_ERRORS
from appliance.models.schema import Source
from appliance.models.sources import FetchContext, local_path, open_url

_LOGGER = logging.getLogger(__name__)


def _member_name(name: str) -> str:
    return name[2:] if name.startswith("./") else name


def _member_stream(
    archive: Path, member: str, src: Source, ctx: FetchContext, stack: ExitStack
) -> BinaryIO:
    if zipfile.is_zipfile(archive):
        zf = stack.enter_context(zipfile.ZipFile(archive))
        try:
            info = zf.getinfo(member)
        except KeyError:
            raise ctx.fail(src, f"no member {member} in {archive.name}") from None
        return cast(BinaryIO, stack.enter_context(zf.open(info)))
    if tarfile.is_tarfile(archive):
        tf = stack.enter_context(tarfile.open(archive, "r:*"))  # noqa: SIM115
        for tinfo in tf:
            if _member_name(tinfo.name) == member and tinfo.isfile():
                extracted = tf.extractfile(tinfo)
                assert extracted is not None
                return cast(BinaryIO, stack.enter_context(extracted))
        raise ctx.fail(src, f"no member {member} in {archive.name}")
    raise ctx.fail(src, f"{archive.name} is not a zip or tar archive")


@contextmanager
def _open_member(archive: Path, member: str, src: Source, ctx: FetchContext) -> Iterator[BinaryIO]:
    with ExitStack() as stack:
        try:
            stream = _member_stream(archive, member, src, ctx, stack)
        except READ_ERRORS as err:
            raise ctx.fail(src, f"cannot read {archive.name}: {err}") from err
        yield stream


@contextmanager
def open_part(src: Source, ctx: FetchContext) -> Iterator[BinaryIO]:
    """An open binary stream of the bytes of one source (a part of a file)."""
    if src.kind == "url" and not src.member:
        with open_url(src, ctx) as response:
            yield response
        return
    path = local_path(src, ctx)
    if src.member:
        with _open_member(path, src.member, src, ctx) as stream:
            yield stream
        return
    if path.is_dir():
        raise ctx.fail(src, f"{path} is a folder (use member or a tree model)")
    try:
        stream = path.open("rb")
    except OSError as err:
        raise ctx.fail(src, err.strerror or str(err)) from err
    with stream:
        yield stream


def _tree_rel(name: str, prefix: str, src: Source, ctx: FetchContext) -> str | None:
    name = _member_name(name)
    if not name.startswith(prefix) or name.endswith("/"):
        return None
    rel = name[len(prefix) :]
    parts = PurePosixPath(rel).parts
    if not rel or rel.startswith("/") or ".." in parts:
        raise ctx.fail(src, f"unsafe path in archive: {name}")
    return rel


def _check_link(name: str, target: str, *, hard: bool, src: Source, ctx: FetchContext) -> None:
    """Refuse a link member that points out of the archive (absolute or through `..`).

    Links are never followed or written (a tree holds regular files only), but an archive that
    carries one pointing outside is hostile or broken: refused rather than skipped quietly."""
    base = "" if hard else posixpath.dirname(_member_name(name))
    where = posixpath.normpath(posixpath.join(base, target))
    if target.startswith("/") or where == ".." or where.startswith("../"):
        raise ctx.fail(src, f"unsafe link in archive: {name} -> {target}")


def _zip_link(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    """The target of a zip member stored as a Unix symlink, else None."""
    if not stat.S_ISLNK(info.external_attr >> 16):
        return None
    return zf.read(info).decode("utf-8", "replace")


def iter_tree(src: Source, ctx: FetchContext) -> Generator[tuple[str, BinaryIO], None, None]:
    """(relpath, open stream) of every file under the source's `member` prefix.

    A generator: read each stream fully before asking for the next one, and close the
    generator (`contextlib.closing`) if you stop early.
    """
    prefix = (src.member or "").strip("/")
    prefix = f"{prefix}/" if prefix else ""
    path = local_path(src, ctx)
    count = 0
    try:
        if path.is_dir():
            root = path / prefix if prefix else path
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames.sort()
                for fname in sorted(filenames):
                    file = Path(dirpath) / fname
                    if file.is_file() and not file.is_symlink():
                        count += 1
                        with file.open("rb") as stream:
                            yield file.relative_to(root).as_posix(), stream
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    rel = _tree_rel(info.filename, prefix, src, ctx)
                    if rel is not None and (target := _zip_link(zf, info)) is not None:
                        _check_link(info.filename, target, hard=False, src=src, ctx=ctx)
                        continue  # a link inside the tree: not a file of it
                    if rel is not None and not info.is_dir():
                        count += 1
                        with zf.open(info) as zstream:
                            yield rel, cast(BinaryIO, zstream)
        elif tarfile.is_tarfile(path):
            with tarfile.open(path, "r|*") as tf:
                for tinfo in tf:
                    rel = _tree_rel(tinfo.name, prefix, src, ctx)
                    if rel is not None and (tinfo.issym() or tinfo.islnk()):
                        hard = tinfo.islnk()
                        _check_link(tinfo.name, tinfo.linkname, hard=hard, src=src, ctx=ctx)
                    if rel is None or not tinfo.isfile():
                        continue
                    extracted = tf.extractfile(tinfo)
                    assert extracted is not None
                    count += 1
                    with extracted:
                        yield rel, cast(BinaryIO, extracted)
        else:
            raise ctx.fail(src, f"{path.name} is not a folder, zip or tar archive")
    except READ_ERRORS as err:
        raise ctx.fail(src, f"cannot read {path.name}: {err}") from err
    if count == 0:
        raise ctx.fail(src, f"no files under {prefix or 'the top'} in {path.name}")
