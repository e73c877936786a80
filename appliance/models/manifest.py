"""Loading the model manifest (YAML), with errors that say file, line and field."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from appliance import paths
from appliance.errors import ModelError
from appliance.models.hashing import PARTIAL_TAG
from appliance.models.schema import Manifest, ModelEntry, ModelFile, Role, Source

__all__ = [
    "LOCAL_MANIFEST_NAME",
    "Manifest",
    "ModelEntry",
    "ModelFile",
    "Role",
    "Source",
    "load_manifest",
    "local_manifest_path",
    "parse_manifest",
    "read_local_manifest",
    "write_local_manifest",
]

LOCAL_MANIFEST_NAME = "local-manifest.yaml"
"""Models added on this box (`voicebox models add`), kept in the models folder."""

_LOCAL_HEADER = (
    "# Models added on this box with `voicebox models add` (remove with `voicebox models\n"
    "# remove NAME`). Same format as models/manifest.yaml; written by voicebox.\n"
)

_LOGGER = logging.getLogger(__name__)


def _format_loc(loc: tuple[int | str, ...], data: Any) -> str:
    """`('models', 2, 'files', 0, 'sha256')` -> `models[2](vosk-ko).files[0].sha256`."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                out += f"({node['name']})"
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def _line_of(text: str, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest YAML node on the path `loc` (None if it cannot be told)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if key.value == part:
                    child = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def parse_manifest(text: str, origin: str = "<manifest>") -> Manifest:
    """Parse manifest YAML; ModelError `origin:line: location: problem` if it is invalid."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark is not None else origin
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ModelError(f"{where}: invalid YAML: {problem}") from err
    if not isinstance(data, dict):
        raise ModelError(f"{origin}:1: the manifest must be a mapping with a 'models' list")
    try:
        return Manifest.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        line = _line_of(text, loc)
        where = f"{origin}:{line}" if line is not None else origin
        msg = re.sub(r"^(Value|Assertion) error, ", "", first["msg"])
        more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise ModelError(f"{where}: {_format_loc(loc, data)}: {msg}{more}") from err


def load_manifest(path: Path | None = None, *, models_dir: Path | None = None) -> Manifest:
    """Load and validate the manifest (default: `paths.manifest_path()`).

    For the default manifest, or when `models_dir` is given, the models added on this box
    (`<models dir>/local-manifest.yaml`, default folder `paths.models_dir()`) are merged in. A
    broken local manifest is logged and ignored: the shipped models still load.
    """
    merge = path is None or models_dir is not None
    path = path if path is not None else paths.manifest_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ModelError(f"cannot read manifest {path}: {err.strerror or err}") from err
    manifest = parse_manifest(text, str(path)).with_base_dir(path.resolve().parent)
    _LOGGER.debug("loaded manifest %s with %d models", path, len(manifest.entries))
    if merge:
        root = models_dir if models_dir is not None else paths.models_dir()
        manifest = merge_local(manifest, root)
    return manifest


def local_manifest_path(models_dir: Path) -> Path:
    """Where the models added on this box are recorded."""
    return models_dir / LOCAL_MANIFEST_NAME


def read_local_manifest(models_dir: Path) -> list[ModelEntry]:
    """The entries of the local manifest (none if it does not exist); ModelError if broken."""
    path = local_manifest_path(models_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as err:
        problem = err.strerror if isinstance(err, OSError) else str(err)
        raise ModelError(f"cannot read local manifest {path}: {problem or err}") from err
    return list(parse_manifest(text, str(path)).entries)


def merge_local(shipped: Manifest, models_dir: Path) -> Manifest:
    """`shipped` plus the local manifest of `models_dir`; problems are logged and skipped."""
    try:
        local = read_local_manifest(models_dir)
    except ModelError as err:
        note = f"ignoring the local manifest (models added on this box): {err.message}"
        _LOGGER.warning("%s", note)
        return shipped.with_local((), (note,))
    if not local:
        return shipped
    names = set(shipped.names())
    notes: list[str] = []
    added: list[ModelEntry] = []
    for entry in local:
        if entry.name in names:
            note = (
                f"ignoring added model {entry.name} of {local_manifest_path(models_dir)}: "
                "the shipped manifest has a model of that name"
            )
            _LOGGER.warning("%s", note)
            notes.append(note)
            continue
        added.append(entry)
    merged = Manifest.model_validate({"models": [*shipped.entries, *added]})
    merged.with_base_dir(shipped.base_dir)
    return merged.with_local((e.name for e in added), notes)


def write_local_manifest(models_dir: Path, entries: Sequence[ModelEntry]) -> None:
    """Write the local manifest atomically (temp file + rename); checks it reads back."""
    path = local_manifest_path(models_dir)
    data = {"models": [e.model_dump(mode="json", exclude_none=True) for e in entries]}
    text = _LOCAL_HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    parse_manifest(text, str(path))  # never write what cannot be read back
    tmp = path.with_name(f".{path.name}{PARTIAL_TAG}{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
