"""Where voicebox keeps its data: models, the store, the control socket, caches.

One place decides the data directory (the store, the control socket, caches) for every command,
so that `voicebox run` under systemd and a technician's `voicebox tui` on the same box open the
same database and socket: $VOICEBOX_DATA_DIR (the unit sets it), else the same variable in
/etc/voicebox/voicebox.env (the unit's EnvironmentFile; read here too, for a technician's shell),
else /var/lib/voicebox when it exists and can be read, else the checkout's var/.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BOX_DATA_DIR = Path("/var/lib/voicebox")
ENV_FILE = Path("/etc/voicebox/voicebox.env")
DATA_DIR_MODE = 0o750  # the data directory, when voicebox creates it


def env_file_values(path: Path | None = None) -> dict[str, str]:
    """KEY=VALUE lines of the box's environment file (systemd's EnvironmentFile syntax, without
    its line continuations); {} when it is missing or unreadable."""
    try:
        text = (path if path is not None else ENV_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def setting(*names: str) -> str | None:
    """The first of these environment variables that is set, else the first set in the box's
    environment file."""
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    from_file = env_file_values()
    for name in names:
        if from_file.get(name):
            return from_file[name]
    return None


def _readable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.R_OK | os.X_OK)


def data_dir() -> Path:
    """The data directory (see the module's docstring); $VOICEBOX_DATA is the old name."""
    value = setting("VOICEBOX_DATA_DIR", "VOICEBOX_DATA")
    if value:
        return Path(value)
    if _readable_dir(BOX_DATA_DIR) or not (REPO_ROOT / "pyproject.toml").exists():
        return BOX_DATA_DIR
    return REPO_ROOT / "var"


def install_dir() -> Path:
    """Where the installation keeps its models: the checkout's var/, else /var/lib/voicebox."""
    if (REPO_ROOT / "pyproject.toml").exists():
        return REPO_ROOT / "var"
    return BOX_DATA_DIR


def ensure_data_dir(path: Path) -> None:
    """Create a missing directory (and missing parents) with mode 0750; existing ones are left
    as they are (a test's tmp dir, /var/lib/voicebox made by systemd's StateDirectory)."""
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=DATA_DIR_MODE, exist_ok=True)
        os.chmod(d, DATA_DIR_MODE)  # mkdir's mode is cut by the umask; 0750 exactly


def models_dir() -> Path:
    """Where installed models live ($VOICEBOX_MODELS overrides)."""
    env = setting("VOICEBOX_MODELS")
    return Path(env) if env else install_dir() / "models"


def manifest_path() -> Path:
    """The model manifest shipped with the project ($VOICEBOX_MANIFEST overrides)."""
    env = os.environ.get("VOICEBOX_MANIFEST")
    return Path(env) if env else REPO_ROOT / "models" / "manifest.yaml"


def store_path() -> Path:
    """The SQLite store of conversations ($VOICEBOX_DB overrides)."""
    env = setting("VOICEBOX_DB")
    return Path(env) if env else data_dir() / "voicebox.db"


def config_path() -> Path:
    """The box's configuration file ($VOICEBOX_CONFIG, else /etc/voicebox/voicebox.yaml when it
    exists, else voicebox.yaml in the data directory). The TUI edits it; `voicebox run` reads it."""
    env = setting("VOICEBOX_CONFIG")
    if env:
        return Path(env)
    etc = Path("/etc/voicebox/voicebox.yaml")
    return etc if etc.exists() else data_dir() / "voicebox.yaml"


def control_path() -> Path:
    """The daemon's control socket ($VOICEBOX_CONTROL overrides)."""
    env = setting("VOICEBOX_CONTROL")
    return Path(env) if env else data_dir() / "control.sock"
