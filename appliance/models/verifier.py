"""Checking installed models: full re-hash (`verify`) and the cheap check (`model_path`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from appliance import paths
from appliance.errors import ModelError
from appliance.models.hashing import MARKER_NAME, hash_file, hash_tree
from appliance.models.install_steps import Progress, mismatch_error, models_lock, pick_entries, say
from appliance.models.installer import write_tree_marker
from appliance.models.manifest import Manifest, ModelEntry, load_manifest
from appliance.models.marker import Marker

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of re-hashing one model."""

    name: str
    """Model name."""
    path: Path
    """The model's folder."""
    ok: bool
    """True if every file is present with the manifest's size and SHA-256."""
    problems: tuple[str, ...] = ()
    """One line per problem found (missing file, checksum mismatch)."""


def entry_installed(entry: ModelEntry, models_dir: Path) -> bool:
    """Cheap check: the marker vouches for every file and the sizes still match."""
    folder = models_dir / entry.name
    marker = Marker.load(folder)
    if entry.files is not None:
        return all(
            marker.trusts(spec.name, folder / spec.name, spec.sha256, spec.size, strict=False)
            for spec in entry.files
        )
    assert entry.tree_sha256 is not None and entry.size is not None
    return marker.trusts_tree(folder, entry.tree_sha256, entry.size, strict=False)


def is_installed(
    name: str, *, models_dir: Path | None = None, manifest: Manifest | None = None
) -> bool:
    """True if model `name` is installed and its marker matches (no hashing)."""
    root = models_dir if models_dir is not None else paths.models_dir()
    man = manifest if manifest is not None else load_manifest(models_dir=root)
    return entry_installed(man.get(name), root)


def model_path(
    name: str, *, models_dir: Path | None = None, manifest: Manifest | None = None
) -> Path:
    """The installed folder of model `name`; ModelError if it is not (fully) installed."""
    root = models_dir if models_dir is not None else paths.models_dir()
    man = manifest if manifest is not None else load_manifest(models_dir=root)
    if not entry_installed(man.get(name), root):
        raise ModelError(f"model {name} is not installed: run `voicebox models install {name}`")
    return root / name


def _verify_files(entry: ModelEntry, folder: Path, progress: Progress | None) -> list[str]:
    assert entry.files is not None
    marker = Marker.load(folder)
    marker.name = entry.name
    problems: list[str] = []
    for spec in entry.files:
        label = f"{entry.name}/{spec.name}"
        target = folder / spec.name
        if not target.is_file():
            problems.append(f"{label} is missing")
            marker.forget(spec.name)
            continue
        say(progress, f"{label}: hashing")
        digest, size = hash_file(target)
        if digest == spec.sha256 and size == spec.size:
            marker.record(spec.name, target, digest)
        else:
            problems.append(mismatch_error(label, spec.sha256, digest, spec.size, size).message)
            marker.forget(spec.name)
    marker.save(folder)
    return problems


def _verify_tree(entry: ModelEntry, folder: Path, progress: Progress | None) -> list[str]:
    assert entry.tree_sha256 is not None and entry.size is not None
    say(progress, f"{entry.name}: hashing every file")
    digest, size, found = hash_tree(folder)
    if digest == entry.tree_sha256 and size == entry.size:
        write_tree_marker(entry, folder, found)
        return []
    old = Marker.load(folder).files
    problem = mismatch_error(entry.name, entry.tree_sha256, digest, entry.size, size).message
    if old:
        changed = [r for r, (sha, _s) in found.items() if r not in old or old[r].sha256 != sha]
        changed += [f"{r} (missing)" for r in old if r not in found]
        if changed:
            problem += f"; changed: {', '.join(sorted(changed))}"
    (folder / MARKER_NAME).unlink(missing_ok=True)
    return [problem]


def verify(
    names: list[str] | None = None,
    *,
    manifest: Manifest | None = None,
    models_dir: Path | None = None,
    progress: Progress | None = None,
) -> list[VerifyResult]:
    """Re-hash models fully (None: every model with a folder); refreshes or drops markers.

    A file that fails is removed from the marker, so `model_path` refuses it and the next
    `install` fetches it again.
    """
    root = models_dir if models_dir is not None else paths.models_dir()
    man = manifest if manifest is not None else load_manifest(models_dir=root)
    if names is None:
        entries = [e for e in man.entries if (root / e.name).is_dir()]
    else:
        entries = pick_entries(man, names)
    results: list[VerifyResult] = []
    with models_lock(root, progress):
        for entry in entries:
            folder = root / entry.name
            if not folder.is_dir():
                problems = [f"{entry.name} is not installed"]
            else:
                try:
                    check = _verify_tree if entry.is_tree else _verify_files
                    problems = check(entry, folder, progress)
                except OSError as err:
                    raise ModelError(f"cannot verify {entry.name}: {err.strerror or err}") from err
            say(progress, f"{entry.name}: {'ok' if not problems else 'FAILED'}")
            results.append(VerifyResult(entry.name, folder, not problems, tuple(problems)))
    return results
