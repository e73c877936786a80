"""Loading the model manifest (YAML), with errors that say file, line and field."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from appliance import paths
from appliance.errors import ModelError
from appliance.models.schema import Manifest, ModelEntry, ModelFile, Role, Source

__all__ = [
    "Manifest",
    "ModelEntry",
    "ModelFile",
    "Role",
    "Source",
    "load_manifest",
    "parse_manifest",
]

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


def load_manifest(path: Path | None = None) -> Manifest:
    """Load and validate the manifest (default: `paths.manifest_path()`)."""
    path = path if path is not None else paths.manifest_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ModelError(f"cannot read manifest {path}: {err.strerror or err}") from err
    manifest = parse_manifest(text, str(path))
    _LOGGER.debug("loaded manifest %s with %d models", path, len(manifest.entries))
    return manifest.with_base_dir(path.resolve().parent)
