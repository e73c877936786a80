"""The configuration file the TUI edits: load it (broken or not), validate every edit, save it
atomically with a backup.

The document keeps the YAML data as plain dicts and lists; widgets change it through `set` and
`get` with paths like ``("assistants", 2, "handoffs", 0, "condition")``. Every candidate is
validated with the same pydantic models the daemon uses, so a file the TUI saves is a file the
daemon accepts.

A save keeps the file's owner, group and mode (the daemon must still read it; a new file is
0600), refuses to overwrite a file whose content changed on disk since it was read (unless
forced), and writes the validated settings: comments are not kept (`has_comments` tells the TUI
to say so), the file starts with HEADER instead.
"""

from __future__ import annotations

import copy
import hashlib
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
HEADER = (
    "# Written by `voicebox tui`: the TUI saves the settings, not the text, so comments are not\n"
    "# kept. The version before the last save is <this file>.bak.\n"
)
_LOC = re.compile(r"\[(\d+)\](?: \([^)]*\))?|\.?([A-Za-z_][A-Za-z0-9_]*)")
_HASH = re.compile(r"(?:^|(?<=[ \t]))#", re.M)


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


class FileChangedError(ConfigError):
    """The file on disk is not the one the document was read from (someone else saved it)."""


@dataclass(frozen=True)
class DiskStamp:
    """What the document was read from: compared before a save overwrites the file."""

    mtime_ns: int
    size: int
    sha256: str

    @classmethod
    def of(cls, data: bytes, st: os.stat_result) -> DiskStamp:
        return cls(st.st_mtime_ns, len(data), hashlib.sha256(data).hexdigest())

    def same_content(self, other: DiskStamp | None) -> bool:
        """A touch (new mtime, same bytes) is no change: nobody's edit can be lost."""
        return other is not None and (self.size, self.sha256) == (other.size, other.sha256)


def _read(path: Path) -> tuple[bytes, DiskStamp]:
    with open(path, "rb") as f:
        data = f.read()
        return data, DiskStamp.of(data, os.fstat(f.fileno()))


def has_comments(text: str) -> bool:
    """Whether the YAML text has a comment (a `#` that starts a line or follows a blank, outside
    any scalar) other than our own HEADER. Text that does not scan: any line starting `#`."""
    start = len(HEADER) if text.startswith(HEADER) else 0
    try:
        spans = [
            (t.start_mark.index, t.end_mark.index)
            for t in yaml.scan(text, Loader=yaml.SafeLoader)
            if isinstance(t, yaml.ScalarToken)
        ]
    except yaml.YAMLError:
        return any(ln.lstrip().startswith("#") for ln in text[start:].splitlines())
    outside = (m.start() for m in _HASH.finditer(text, start))
    return any(not any(a <= i < b for a, b in spans) for i in outside)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes, mode: int, owner: os.stat_result | None) -> None:
    """Replace `path` by a file with `data`, `mode` and the owner and group of `owner` (when
    given): temp file, fsync, chown, chmod, rename, fsync of the directory. A chown we may not
    do (not root) refuses the save: the daemon could lose its access to the file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
            mine = os.fstat(out.fileno())
        if owner is not None and (mine.st_uid, mine.st_gid) != (owner.st_uid, owner.st_gid):
            try:
                os.chown(tmp, owner.st_uid, owner.st_gid)
            except PermissionError as err:
                raise ConfigError(
                    f"cannot keep the owner {_who(owner)} of {path} ({err.strerror}); not "
                    "saved: run the TUI as root (sudo voicebox tui) or as that user"
                ) from err
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _who(st: os.stat_result) -> str:
    import grp
    import pwd

    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return f"{user}:{group}"


@dataclass
class ConfigDocument:
    """The config file and its edited, not yet saved data."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    load_errors: list[str] = field(default_factory=list)
    exists: bool = False
    stamp: DiskStamp | None = None  # what was read (None: no file)
    has_comments: bool = False  # the file has comments a save will not keep

    @classmethod
    def open(cls, path: Path) -> ConfigDocument:
        """Read the file; a missing file starts from the starter team, a broken one keeps its
        errors (the TUI shows them instead of crashing)."""
        doc = cls(path)
        try:
            raw, doc.stamp = _read(path)
            doc.exists = True
            text = raw.decode("utf-8")
        except FileNotFoundError:
            text = template_text("starter")
        except OSError as err:
            doc.load_errors = [f"{path}: cannot read: {err.strerror}"]
            return doc
        except UnicodeDecodeError as err:
            doc.load_errors = [f"{path}: not UTF-8 text (byte {err.start})"]
            return doc
        doc.has_comments = doc.exists and has_comments(text)
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

    def reload(self) -> None:
        """Read the file again, dropping the edits not saved."""
        fresh = ConfigDocument.open(self.path)
        self.__dict__.update(fresh.__dict__)

    def changed_on_disk(self) -> bool:
        """Whether the file's content is no longer what the document was read from (or last
        saved as); a file that appeared or vanished since counts as changed."""
        try:
            _, now = _read(self.path)
        except FileNotFoundError:
            return self.stamp is not None
        except OSError:
            return False  # unreadable: the save reports its own error
        return self.stamp is None or not self.stamp.same_content(now)

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
            if isinstance(node, dict) and node.get(part) is None:  # missing, or null in the file
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

    def save(self, *, force: bool = False) -> Path | None:
        """Write the file atomically (temp file + rename) with its owner, group and mode (a new
        file: 0600); the previous version becomes `<name>.bak` (0600, same owner). Refuses
        (ConfigError) when the config is invalid and (FileChangedError) when the file changed
        on disk since it was read, unless `force`. Returns the backup."""
        if not self.readable:
            raise ConfigError("the file is not valid YAML; fix it or restore the backup")
        cfg, errors = self.validate()
        if cfg is None:
            raise ConfigError(f"{len(errors)} error(s); not saved", [str(e) for e in errors])
        if not force and self.changed_on_disk():
            raise FileChangedError(f"{self.path}: the file changed on disk since you opened it")
        text = HEADER + dump_config(cfg)
        target = Path(os.path.realpath(self.path))  # a symlinked config stays a symlink
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            old: os.stat_result | None = target.stat()
        except FileNotFoundError:
            old = None
        backup = None
        if old is not None:
            backup = target.with_name(target.name + ".bak")
            _write_atomic(backup, target.read_bytes(), 0o600, old)  # SIP passwords live here
        _write_atomic(target, text.encode("utf-8"), old.st_mode & 0o777 if old else 0o600, old)
        self.data = yaml.safe_load(text)
        self.exists = True
        self.has_comments = False
        self.stamp = _read(target)[1]
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
