"""Installing models: assemble each file from its sources, check it, then move it into place.

Every file is written to `.<name>.partial-<pid>` beside its final place while being hashed,
and renamed only when size and SHA-256 match the manifest; tree models are extracted into
`<models>/.<name>.partial-<pid>/` and the folder is renamed. Nothing half-written is left
behind on any error, including KeyboardInterrupt.
"""

from __future__ import annotations

import logging
import os
import shutil
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from appliance import paths
from appliance.errors import ModelError
from appliance.models.archives import iter_tree, open_part
from appliance.models.hashing import (
    PARTIAL_TAG,
    HashingWriter,
    hash_file,
    hash_tree,
    tree_files,
    tree_sha256,
    write_member,
)
from appliance.models.install_steps import (
    Progress,
    check_space,
    mismatch_error,
    models_lock,
    pick_entries,
    say,
)
from appliance.models.manifest import Manifest, ModelEntry, ModelFile, load_manifest
from appliance.models.marker import Marker
from appliance.models.sources import FetchContext, default_cache_dir

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstallResult:
    """The outcome for one model."""

    name: str
    """Model name."""
    path: Path
    """The model's installed folder."""
    status: Literal["installed", "present"]
    """`installed`: bytes were written now; `present`: everything was already there."""

    @property
    def installed(self) -> bool:
        """True if this run wrote the model (or part of it)."""
        return self.status == "installed"


def _remove_stale(root: Path, name: str) -> None:
    """Drop leftovers of a killed run (safe: we hold the lock, so nobody else writes)."""
    for leftover in root.glob(f".{name}.*-*"):
        if PARTIAL_TAG in leftover.name or ".old-" in leftover.name:
            _LOGGER.info("removing leftover %s", leftover)
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
    folder = root / name
    if folder.is_dir():
        for partial in folder.rglob(f"*{PARTIAL_TAG}*"):
            if partial.is_file():
                _LOGGER.info("removing leftover %s", partial)
                partial.unlink(missing_ok=True)


def _build_file(spec: ModelFile, target: Path, ctx: FetchContext, progress: Progress | None) -> str:
    """Assemble `target` from its sources; returns the sha256 (equal to the manifest's)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    check_space(ctx.label, spec.size, target.parent)
    tmp = target.parent / f".{target.name}{PARTIAL_TAG}{os.getpid()}"
    try:
        with tmp.open("wb") as out:
            writer = HashingWriter(out, ctx.label, spec.size, progress)
            for src in spec.sources:
                say(progress, f"{ctx.label}: reading {src.describe()}")
                with open_part(src, ctx) as stream:
                    writer.copy_from(stream, f"{src.describe()} for {ctx.label}")
            writer.finish()
        digest = writer.digest.hexdigest()
        if digest != spec.sha256 or writer.size != spec.size:
            raise mismatch_error(ctx.label, spec.sha256, digest, spec.size, writer.size)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest


def _install_files(
    entry: ModelEntry, root: Path, cache_dir: Path, base_dir: Path | None, progress: Progress | None
) -> bool:
    """Install a file-shaped model; True if anything was written."""
    assert entry.files is not None
    folder = root / entry.name
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    marker = Marker.load(folder)
    marker.name = entry.name
    wrote = False
    try:
        for spec in entry.files:
            label = f"{entry.name}/{spec.name}"
            target = folder / spec.name
            if marker.trusts(spec.name, target, spec.sha256, spec.size, strict=True):
                continue
            if target.is_file() and target.stat().st_size == spec.size:
                say(progress, f"{label}: checking the existing file")
                if hash_file(target)[0] == spec.sha256:
                    marker.record(spec.name, target, spec.sha256)
                    marker.save(folder)
                    continue
            marker.forget(spec.name)
            ctx = FetchContext(cache_dir=cache_dir, base_dir=base_dir, label=label)
            _build_file(spec, target, ctx, progress)
            marker.record(spec.name, target, spec.sha256)
            marker.save(folder)
            wrote = True
    except BaseException:
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return wrote


def _install_tree(
    entry: ModelEntry, root: Path, cache_dir: Path, base_dir: Path | None, progress: Progress | None
) -> bool:
    """Install a directory-shaped model; True if anything was written."""
    assert entry.tree is not None and entry.tree_sha256 is not None and entry.size is not None
    final = root / entry.name
    marker = Marker.load(final)
    if marker.trusts_tree(final, entry.tree_sha256, entry.size, strict=True):
        return False
    if final.is_dir() and _adopt_tree(entry, final, progress):
        return False
    check_space(entry.name, entry.size, root)
    tmpdir = root / f".{entry.name}{PARTIAL_TAG}{os.getpid()}"
    ctx = FetchContext(cache_dir=cache_dir, base_dir=base_dir, label=entry.name)
    try:
        tmpdir.mkdir()
        new = Marker(name=entry.name)
        hashes: dict[str, str] = {}
        say(progress, f"{entry.name}: extracting {entry.tree.describe()}")
        with closing(iter_tree(entry.tree, ctx)) as members:
            for rel, stream in members:
                dest = tmpdir / rel
                where = f"{entry.tree.describe()} ({rel})"
                writer = write_member(stream, dest, f"{entry.name}/{rel}", where)
                hashes[rel] = writer.digest.hexdigest()
                new.record(rel, dest, hashes[rel])
        digest = tree_sha256(hashes.items())
        size = sum(rec.size for rec in new.files.values())
        if digest != entry.tree_sha256 or size != entry.size:
            raise mismatch_error(entry.name, entry.tree_sha256, digest, entry.size, size)
        new.tree_sha256 = digest
        new.save(tmpdir)
        _swap_in(tmpdir, final)
    except OSError as err:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise ModelError(f"cannot install {entry.name} into {root}: {err.strerror or err}") from err
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    return True


def _adopt_tree(entry: ModelEntry, folder: Path, progress: Progress | None) -> bool:
    """Trust an existing folder without a valid marker if its tree hash matches."""
    assert entry.tree_sha256 is not None
    if sum(path.stat().st_size for _rel, path in tree_files(folder)) != entry.size:
        return False
    say(progress, f"{entry.name}: checking the existing folder")
    digest, _size, found = hash_tree(folder)
    if digest != entry.tree_sha256:
        return False
    write_tree_marker(entry, folder, found)
    return True


def write_tree_marker(entry: ModelEntry, folder: Path, found: dict[str, tuple[str, int]]) -> None:
    """Record a freshly verified tree folder in its marker."""
    marker = Marker(name=entry.name, tree_sha256=entry.tree_sha256)
    for rel, (sha, _size) in found.items():
        marker.record(rel, folder / rel, sha)
    marker.save(folder)


def _swap_in(new: Path, final: Path) -> None:
    """Rename folder `new` to `final`, replacing an old `final` only once `new` is there."""
    if not final.exists():
        os.replace(new, final)
        return
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    os.replace(final, old)
    try:
        os.replace(new, final)
    except BaseException:
        os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def install(
    names: list[str] | None = None,
    *,
    manifest: Manifest | None = None,
    models_dir: Path | None = None,
    progress: Progress | None = None,
    cache_dir: Path | None = None,
) -> list[InstallResult]:
    """Install `names` (None: the default models); already verified files are skipped."""
    root = models_dir if models_dir is not None else paths.models_dir()
    man = manifest if manifest is not None else load_manifest(models_dir=root)
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    entries = pick_entries(man, names)
    results: list[InstallResult] = []
    with models_lock(root, progress):
        for entry in entries:
            _remove_stale(root, entry.name)
            install_one = _install_tree if entry.is_tree else _install_files
            try:
                wrote = install_one(entry, root, cache, man.base_dir, progress)
            except OSError as err:
                raise ModelError(f"cannot install {entry.name}: {err.strerror or err}") from err
            status: Literal["installed", "present"] = "installed" if wrote else "present"
            say(progress, f"{entry.name}: {status}")
            results.append(InstallResult(entry.name, root / entry.name, status))
    return results
