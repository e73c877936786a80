"""The configuration file the TUI edits: load it (broken or not), validate every edit, save it
atomically with a backup.

The document keeps the YAML data as plain dicts and lists; widgets change it through `set` and
`get` with paths like ``("assistants", 2, "handoffs", 0, "condition")``. Every candidate is
validated with the same pydantic models the daemon uses, so a file the TUI saves is a file the
daemon accepts.
"""

from __future__ import annotations

import copy
import itertools
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from appliance.config import Config, dump_config, parse_config, resolve_paths, template_text
from appliance.errors import ConfigError

_LOGGER = logging.getLogger(__name__)
Path_ = tuple[str | int, ...]
_LOC = re.compile(r"\[(\d+)\](?: \([^)]*\))?|\.?([A-Za-z_][A-Za-z0-9_]*)")


def parse_location(text: str) -> Path_:
    """`assistants[1] (sales).handoffs[0].target` -> ("assistants", 1, "handoffs", 0, "target")."""
    out: list[str | int] = []
    pos = 0
    while pos < len(text):
        m = _LOC.match(text, pos)
        if m is None or m.end() == pos:
            break
        out.append(int(m.group(1)) if m.group(1) is not None else m.group(2))
        pos = m.end()
    return tuple(out)


@dataclass(frozen=True)
class Finding:
    """One problem of the document: where (a data path) and what."""

    level: str  # error | warning
    path: Path_
    location: str
    message: str

    def under(self, prefix: Path_) -> bool:
        return self.path[: len(prefix)] == prefix

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


def finding(level: str, line: str) -> Finding:
    """Split a checker line "location: message" into a Finding with its data path."""
    loc, sep, msg = line.partition(": ")
    if not sep or " " in loc.split(" (")[0]:
        return Finding(level, (), "", line)
    return Finding(level, parse_location(loc), loc, msg)


@dataclass
class ConfigDocument:
    """The config file and its edited, not yet saved data."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    load_errors: list[str] = field(default_factory=list)
    exists: bool = False

    @classmethod
    def open(cls, path: Path) -> ConfigDocument:
        """Read the file; a missing file starts from the starter team, a broken one keeps its
        errors (the TUI shows them instead of crashing)."""
        doc = cls(path)
        try:
            text = path.read_text(encoding="utf-8")
            doc.exists = True
        except FileNotFoundError:
            text = template_text("starter")
        except OSError as err:
            doc.load_errors = [f"{path}: cannot read: {err.strerror}"]
            return doc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            doc.load_errors = [f"{where}: invalid YAML: {getattr(err, 'problem', None) or err}"]
            return doc
        if not isinstance(data, dict):
            doc.load_errors = [f"{path}: the top level must be a mapping"]
            return doc
        doc.data = data
        return doc

    @property
    def readable(self) -> bool:
        """False when the file could not even be parsed as YAML (nothing to edit)."""
        return not self.load_errors

    # -- editing ----------------------------------------------------------------------------

    def get(self, path: Path_, default: Any = None) -> Any:
        node: Any = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return default
        return node

    def shown(self, paths: list[Path_]) -> list[Any]:
        """The values at `paths`; one the file leaves out comes as the default the daemon would
        use (from the validated config, validated once; a config with errors shows only what the
        file has)."""
        cfg, _ = self.validate()
        full = ConfigDocument(self.path, cfg.model_dump(mode="json")) if cfg else self
        return [self.get(p, full.get(p)) for p in paths]

    def set(self, path: Path_, value: Any) -> None:
        """Set a value, creating missing mappings on the way."""
        node: Any = self.data
        for part, nxt in itertools.pairwise(path):
            if isinstance(node, dict) and part not in node:
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]
        last = path[-1]
        if value is None and isinstance(node, dict):
            node.pop(last, None)
        else:
            node[last] = value

    # -- checking ---------------------------------------------------------------------------

    def validate(self, data: dict[str, Any] | None = None) -> tuple[Config | None, list[Finding]]:
        """The config and its errors (structural: the daemon would refuse it)."""
        try:
            cfg = parse_config(copy.deepcopy(self.data if data is None else data), str(self.path))
        except ConfigError as err:
            return None, [finding("error", line) for line in err.problems or [err.message]]
        return cfg, []

    def check(self, embedder: Any = None) -> list[Finding]:
        """Errors (the daemon would refuse the file) or, for a valid config, the checker's
        warnings and errors (vague or overlapping conditions, unreachable assistants, ...)."""
        from appliance.assistants.lint import lint

        if not self.readable:
            return [finding("error", line) for line in self.load_errors]
        cfg, errors = self.validate()
        if cfg is None:
            return errors
        return [
            Finding(p.level, parse_location(p.location), p.location, p.message)
            for p in lint(self.resolved(cfg), embedder)
        ]

    def resolved(self, cfg: Config) -> Config:
        """The config with LoRA paths resolved from the file's folder (as the daemon sees it)."""
        return resolve_paths(cfg.model_copy(deep=True), self.path.parent)

    # -- saving -----------------------------------------------------------------------------

    def save(self) -> Path | None:
        """Write the file atomically (temp file + rename); the previous version becomes
        `<name>.bak`. Refuses (ConfigError) when the config is invalid. Returns the backup."""
        if not self.readable:
            raise ConfigError("the file is not valid YAML; fix it or restore the backup")
        cfg, errors = self.validate()
        if cfg is None:
            raise ConfigError(f"{len(errors)} error(s); not saved", [str(e) for e in errors])
        text = dump_config(cfg)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        backup = None
        if self.path.exists():
            backup = self.path.with_name(self.path.name + ".bak")
            backup.write_bytes(self.path.read_bytes())
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            if self.path.exists():
                os.chmod(tmp, self.path.stat().st_mode & 0o777)
            else:
                os.chmod(tmp, 0o600)  # SIP passwords live here
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.data = yaml.safe_load(text)
        self.exists = True
        _LOGGER.info("saved %s (backup %s)", self.path, backup)
        return backup


# -- assistants: add, rename (references follow), delete (blocked while referenced) ---------


def assistant_index(data: dict[str, Any], name: str) -> int:
    for i, a in enumerate(data.get("assistants") or []):
        if isinstance(a, dict) and a.get("name") == name:
            return i
    raise KeyError(name)


def references(data: dict[str, Any], name: str) -> list[str]:
    """Every place that names the assistant (the reasons a delete is refused)."""
    out = []
    if (data.get("team") or {}).get("entry") == name:
        out.append("team.entry (it answers new calls)")
    for a in data.get("assistants") or []:
        for j, rule in enumerate(a.get("handoffs") or []):
            if rule.get("target") == name and a.get("name") != name:
                out.append(f"{a.get('name')}: handoff rule {j + 1}")
    for i, acc in enumerate((data.get("sip") or {}).get("accounts") or []):
        if acc.get("entry") == name:
            out.append(f"sip.accounts[{i}] ({acc.get('user')}): entry assistant")
    return out


def rename_assistant(data: dict[str, Any], old: str, new: str) -> int:
    """Rename in place; every reference follows. Returns how many references changed."""
    changed = 0
    data["assistants"][assistant_index(data, old)]["name"] = new
    team = data.get("team") or {}
    if team.get("entry") == old:
        team["entry"], changed = new, changed + 1
    for a in data.get("assistants") or []:
        for rule in a.get("handoffs") or []:
            if rule.get("target") == old:
                rule["target"], changed = new, changed + 1
    for acc in (data.get("sip") or {}).get("accounts") or []:
        if acc.get("entry") == old:
            acc["entry"], changed = new, changed + 1
    return changed


def new_assistant(name: str, title: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": title,
        "language": "en",
        "system_prompt": f"You are the {title} assistant of the business. Answer briefly.",
        "greeting": "",
        "tools": ["handoff"],
        "handoffs": [],
    }
