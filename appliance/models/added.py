"""Models added on this box from a file a technician brings (`voicebox models add|remove`).

The source is a folder, a .zip, a tar archive (.tar.gz, .tgz, ...) or a single file. When it
holds exactly one top-level folder (official Vosk archives do), that folder is the model. It is
copied into `<models>/.<name>.partial-<pid>/`, hashed while copied, checked for the layout its
role needs, given the installer's `.verified.json` marker and renamed into `<models>/<name>`;
then its entry (tree_sha256 or file sha256s, size, where it came from) is written to
`<models>/local-manifest.yaml`, which `load_manifest` merges with the shipped manifest. A
failure at any step leaves neither the folder nor the entry behind.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import shutil
import tarfile
import zipfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal, get_args

from pydantic import ValidationError

from appliance import paths
from appliance.errors import ModelError
from appliance.models.archives import iter_tree
from appliance.models.hashing import MARKER_NAME, PARTIAL_TAG, tree_sha256, write_member
from appliance.models.install_steps import Progress, check_space, models_lock, say
from appliance.models.installer import _remove_stale, write_tree_marker
from appliance.models.manifest import (
    LOCAL_MANIFEST_NAME,
    Manifest,
    ModelEntry,
    ModelFile,
    Role,
    Source,
    load_manifest,
    local_manifest_path,
    read_local_manifest,
    write_local_manifest,
)
from appliance.models.marker import Marker
from appliance.models.schema import MODEL_NAME_PATTERN
from appliance.models.sources import FetchContext

_LOGGER = logging.getLogger(__name__)

ROLES: tuple[str, ...] = get_args(Role)
"""The roles a model can have (those of the manifest schema)."""

_ZIP_SUFFIXES = (".zip",)
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_TOP_JUNK = frozenset({"__MACOSX", ".DS_Store"})
_RESERVED = frozenset({LOCAL_MANIFEST_NAME})

SourceKind = Literal["dir", "zip", "tar", "file"]


@dataclass(frozen=True)
class AddResult:
    """A model added from a file."""

    name: str
    """Model name."""
    path: Path
    """Its folder in the models directory."""
    sha256: str
    """The tree sha256 (folder models) or the sha256 of the main file (file models)."""
    entry: ModelEntry
    """The entry recorded in the local manifest."""


class _AddContext(FetchContext):
    """Fetch context whose errors say `cannot add NAME from PATH: ...`."""

    def fail(self, src: Source, problem: str) -> ModelError:
        return ModelError(f"cannot add {self.label} from {src.file or src.describe()}: {problem}")


def _check_name(name: str) -> None:
    if not re.fullmatch(MODEL_NAME_PATTERN, name):
        raise ModelError(
            f"invalid model name {name!r}: use lower-case letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    if name in _RESERVED:
        raise ModelError(f"the model name {name!r} is reserved; choose another one")


def _source_kind(path: Path) -> SourceKind:
    """What the source is; ModelError for an archive that cannot be read."""
    if path.is_dir():
        return "dir"
    lower = path.name.lower()
    if lower.endswith(_ZIP_SUFFIXES):
        if not zipfile.is_zipfile(path):
            raise ModelError(f"{path} is not a readable zip archive (corrupt or incomplete?)")
        return "zip"
    if lower.endswith(_TAR_SUFFIXES):
        try:
            readable = tarfile.is_tarfile(path)
        except (OSError, EOFError, tarfile.TarError):
            readable = False
        if not readable:
            raise ModelError(f"{path} is not a readable tar archive (corrupt or incomplete?)")
        return "tar"
    if not path.is_file():
        raise ModelError(f"{path} is neither a folder nor a regular file")
    return "file"


def _source_size(path: Path, kind: SourceKind) -> int:
    """Bytes the model will take (best guess; 0 when it cannot be told cheaply)."""
    if kind == "dir":
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    if kind == "zip":
        with zipfile.ZipFile(path) as zf:
            return sum(info.file_size for info in zf.infolist())
    if kind == "file":
        return path.stat().st_size
    return 0


def _single_files(path: Path, role: str) -> list[tuple[str, Path]]:
    """(name in the model folder, source path) for a model given as one file."""
    name = path.name
    if role == "tts" and name.endswith(".onnx.json"):
        path = path.with_name(name.removesuffix(".json"))
        name = path.name
        if not path.is_file():
            raise ModelError(
                f"not a Piper voice: {path} (the voice beside its .onnx.json) is missing"
            )
    if role == "tts" and name.endswith(".onnx"):
        config = path.with_name(f"{name}.json")
        if not config.is_file():
            raise ModelError(f"not a Piper voice: {config.name} is missing beside {path}")
        return [(name, path), (config.name, config)]
    if role == "llm" and name.endswith(".gguf"):
        return [("model.gguf", path)]  # the engine loads <model folder>/model.gguf
    if name.startswith("."):
        raise ModelError(f"{path}: a model file name must not start with '.'")
    return [(name, path)]


def _copy(src: Path, dest: Path, label: str) -> tuple[str, int]:
    """Copy one file while hashing it: (sha256, size)."""
    try:
        stream = src.open("rb")
    except OSError as err:
        raise ModelError(f"cannot read {src}: {err.strerror or err}") from err
    with stream:
        writer = write_member(stream, dest, label, str(src))
    return writer.digest.hexdigest(), writer.size


def _stage_tree(src: Source, raw: Path, ctx: FetchContext) -> dict[str, tuple[str, int]]:
    """Extract every file of `src` into `raw`: {relpath: (sha256, size)}."""
    found: dict[str, tuple[str, int]] = {}
    with closing(iter_tree(src, ctx)) as members:
        for rel, stream in members:
            base = PurePosixPath(rel).name
            if base == MARKER_NAME or PARTIAL_TAG in base:
                continue  # never part of a tree (see hashing.tree_files)
            writer = write_member(stream, raw / rel, f"{ctx.label}/{rel}", f"{rel} in {src.file}")
            found[rel] = (writer.digest.hexdigest(), writer.size)
    return found


def _single_top(raw: Path, found: dict[str, tuple[str, int]]) -> str | None:
    """The one top-level folder holding every file (macOS junk aside), if there is one."""
    tops = {rel.split("/", 1)[0] for rel in found} - _TOP_JUNK
    if len(tops) == 1:
        top = next(iter(tops))
        if (raw / top).is_dir():
            return top
    return None


def _where(folder: Path, origin: Path) -> str:
    """`the top of ORIGIN`, listing its folders when there are several (--member picks one)."""
    dirs = sorted(p.name for p in folder.iterdir() if p.is_dir())
    hint = f" (folders there: {', '.join(dirs)}; pick one with --member)" if len(dirs) > 1 else ""
    return f"the top of {origin}{hint}"


def check_layout(folder: Path, role: str, origin: Path) -> None:
    """ModelError unless `folder` has what the runtime of `role` loads."""
    if role == "asr":
        if (folder / "conf" / "model.conf").is_file():
            missing = [f"{d}/" for d in ("am", "graph") if not (folder / d).is_dir()]
            if missing:
                lacks = " and no ".join(missing)
                raise ModelError(f"not a Vosk model: {origin} has conf/model.conf but no {lacks}")
        elif (folder / "am").is_dir() or (folder / "graph").is_dir():
            raise ModelError(f"not a Vosk model: {origin} has no conf/model.conf")
        elif not (folder / "model.bin").is_file():
            raise ModelError(
                f"not a Vosk model: no conf/model.conf (nor model.bin of a faster-whisper model) "
                f"at {_where(folder, origin)}"
            )
    elif role == "tts":
        voices = sorted(folder.glob("*.onnx"))
        if not voices:
            raise ModelError(f"not a Piper voice: no .onnx file at {_where(folder, origin)}")
        config = voices[0].with_name(f"{voices[0].name}.json")
        if not config.is_file():
            raise ModelError(f"not a Piper voice: {config.name} is missing beside {voices[0].name}")
    elif role == "llm":
        if not (folder / "model.gguf").is_file():
            raise ModelError(f"not a llama.cpp model: no model.gguf at {_where(folder, origin)}")
    elif role == "embeddings":
        missing = [n for n in ("model.onnx", "tokenizer.json") if not (folder / n).is_file()]
        if missing:
            lacks = " and no ".join(missing)
            raise ModelError(f"not an embeddings model: no {lacks} at {_where(folder, origin)}")


def _commit(folder: Path, final: Path, root: Path, entries: list[ModelEntry]) -> None:
    """Rename `folder` to `final` and write the local manifest; all or nothing."""
    old: Path | None = None
    if final.exists() or final.is_symlink():
        old = root / f".{final.name}.old-{os.getpid()}"
        os.replace(final, old)
    try:
        os.replace(folder, final)
        try:
            write_local_manifest(root, entries)
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
    except BaseException:
        if old is not None:
            os.replace(old, final)
        raise
    if old is not None:
        _delete(old)


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _read_local(root: Path) -> list[ModelEntry]:
    try:
        return read_local_manifest(root)
    except ModelError as err:
        raise ModelError(
            f"{err.message}; fix or delete {local_manifest_path(root)} (it lists the models "
            "added on this box)"
        ) from err


def _shipped_names(manifest: Manifest) -> set[str]:
    return {e.name for e in manifest.entries if not manifest.is_local(e.name)}


def add_model(
    name: str,
    source: Path,
    *,
    role: str,
    licence: str = "unknown",
    description: str = "",
    member: str | None = None,
    force: bool = False,
    manifest: Manifest | None = None,
    models_dir: Path | None = None,
    progress: Progress | None = None,
) -> AddResult:
    """Add model `name` from `source` (folder, .zip, tar archive or single file).

    `manifest` (default: the shipped one) says which names are taken; `force` replaces a
    model added before under the same name. ModelError (one line) on any problem.
    """
    _check_name(name)
    if role not in ROLES:
        raise ModelError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if not licence.strip():
        raise ModelError("the licence must not be empty")
    root = models_dir if models_dir is not None else paths.models_dir()
    man = manifest if manifest is not None else load_manifest(models_dir=root)
    if name in _shipped_names(man):
        raise ModelError(f"{name} is a model of the shipped manifest; add yours under another name")
    path = source.expanduser()
    if not path.exists():
        raise ModelError(f"{path} does not exist")
    path = path.resolve()
    kind = _source_kind(path)
    if member is not None and kind == "file":
        raise ModelError("--member only applies to a folder or an archive")
    if kind == "dir" and not any(p.is_file() for p in path.rglob("*")):
        raise ModelError(f"{path} is an empty folder")
    tree_src: Source | None = None
    if kind != "file":
        try:
            tree_src = Source(file=str(path), member=member.strip("/") + "/" if member else None)
        except ValidationError as err:
            raise ModelError(f"invalid --member {member!r}: {err.errors()[0]['msg']}") from None

    with models_lock(root, progress):
        entries = _read_local(root)
        before = next((e for e in entries if e.name == name), None)
        final = root / name
        if not force:
            if before is not None:
                raise ModelError(
                    f"{name} was already added ({before.notes}); use --force to replace it"
                )
            if final.exists() or final.is_symlink():
                raise ModelError(f"{final} already exists; use --force to replace it")
        _remove_stale(root, name)
        staging = root / f".{name}{PARTIAL_TAG}{os.getpid()}"
        note = f"added from {path} on {datetime.date.today().isoformat()}"
        try:
            check_space(name, _source_size(path, kind), root)
            staging.mkdir()
            say(progress, f"{name}: copying {path}")
            if tree_src is None:
                folder = staging / "model"
                copied = [
                    (dest, src, *_copy(src, folder / dest, f"{name}/{dest}"))
                    for dest, src in _single_files(path, role)
                ]
                check_layout(folder, role, path)
                files = [
                    ModelFile(name=d, sha256=sha, size=size, sources=[Source(file=str(s))])
                    for d, s, sha, size in copied
                ]
                entry = _entry(name, role, description, licence, note, files=files)
                marker = Marker(name=name)
                for spec in files:
                    marker.record(spec.name, folder / spec.name, spec.sha256)
                marker.save(folder)
                digest = files[0].sha256
            else:
                raw = staging / "raw"
                raw.mkdir()
                ctx = _AddContext(cache_dir=staging, base_dir=None, label=name)
                found = _stage_tree(tree_src, raw, ctx)
                folder = raw
                top = _single_top(raw, found) if tree_src.member is None else None
                if top is not None:
                    folder = raw / top
                    cut = len(top) + 1
                    found = {r[cut:]: v for r, v in found.items() if r.startswith(f"{top}/")}
                    tree_src = Source(file=tree_src.file, member=f"{top}/")
                if not found:
                    raise ModelError(f"cannot add {name} from {path}: it holds no model files")
                check_layout(folder, role, path)
                digest = tree_sha256((rel, sha) for rel, (sha, _size) in found.items())
                entry = _entry(
                    name,
                    role,
                    description,
                    licence,
                    note,
                    tree=tree_src,
                    tree_sha256=digest,
                    size=sum(size for _sha, size in found.values()),
                )
                write_tree_marker(entry, folder, found)
            kept = [entry if e.name == name else e for e in entries]
            if before is None:
                kept.append(entry)
            _commit(folder, final, root, kept)
        except OSError as err:
            raise ModelError(f"cannot add {name} into {root}: {err.strerror or err}") from err
        except ValidationError as err:
            raise ModelError(f"cannot add {name}: {err.errors()[0]['msg']}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    say(progress, f"{name}: added")
    return AddResult(name, final, digest, entry)


def _entry(
    name: str,
    role: str,
    description: str,
    licence: str,
    note: str,
    *,
    files: list[ModelFile] | None = None,
    tree: Source | None = None,
    tree_sha256: str | None = None,
    size: int | None = None,
) -> ModelEntry:
    try:
        return ModelEntry.model_validate(
            {
                "name": name,
                "role": role,
                "description": description,
                "licence": licence,
                "notes": note,
                "default": False,
                "files": files,
                "tree": tree,
                "tree_sha256": tree_sha256,
                "size": size,
            }
        )
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ModelError(f"cannot add {name}: {where}: {first['msg']}") from None


def remove_model(
    name: str,
    *,
    manifest: Manifest | None = None,
    models_dir: Path | None = None,
    progress: Progress | None = None,
) -> Path:
    """Delete a model added with `add_model` (its folder and its entry); returns the folder."""
    root = models_dir if models_dir is not None else paths.models_dir()
    man = manifest if manifest is not None else load_manifest(models_dir=root)
    if name in _shipped_names(man):
        raise ModelError(
            f"{name} is a shipped model; only models added with `voicebox models add` "
            "can be removed"
        )
    with models_lock(root, progress):
        entries = _read_local(root)
        if not any(e.name == name for e in entries):
            added = ", ".join(e.name for e in entries) or "none"
            raise ModelError(f"no added model {name!r} (added: {added})")
        folder = root / name
        old = root / f".{name}.old-{os.getpid()}"
        try:
            moved = folder.exists() or folder.is_symlink()
            if moved:
                os.replace(folder, old)
            try:
                write_local_manifest(root, [e for e in entries if e.name != name])
            except BaseException:
                if moved:
                    os.replace(old, folder)
                raise
        except OSError as err:
            raise ModelError(f"cannot remove {name} from {root}: {err.strerror or err}") from err
        if moved:
            _delete(old)
    say(progress, f"{name}: removed")
    return folder
