"""Where voicebox keeps its data: models, the store, caches."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BOX_DATA_DIR = Path("/var/lib/voicebox")


def data_dir() -> Path:
    """The data directory: $VOICEBOX_DATA, ./var in a checkout, /var/lib/voicebox on a box."""
    env = os.environ.get("VOICEBOX_DATA")
    if env:
        return Path(env)
    if (REPO_ROOT / "pyproject.toml").exists():
        return REPO_ROOT / "var"
    return BOX_DATA_DIR


def models_dir() -> Path:
    """Where installed models live ($VOICEBOX_MODELS overrides)."""
    env = os.environ.get("VOICEBOX_MODELS")
    return Path(env) if env else data_dir() / "models"


def manifest_path() -> Path:
    """The model manifest shipped with the project ($VOICEBOX_MANIFEST overrides)."""
    env = os.environ.get("VOICEBOX_MANIFEST")
    return Path(env) if env else REPO_ROOT / "models" / "manifest.yaml"


def store_path() -> Path:
    """The SQLite store of conversations ($VOICEBOX_DB overrides)."""
    env = os.environ.get("VOICEBOX_DB")
    return Path(env) if env else data_dir() / "voicebox.db"


def config_path() -> Path:
    """The box's configuration file ($VOICEBOX_CONFIG, else /etc/voicebox/voicebox.yaml when it
    exists, else voicebox.yaml in the data directory). The TUI edits it; `voicebox run` reads it."""
    env = os.environ.get("VOICEBOX_CONFIG")
    if env:
        return Path(env)
    etc = Path("/etc/voicebox/voicebox.yaml")
    return etc if etc.exists() else data_dir() / "voicebox.yaml"


def control_path() -> Path:
    """The daemon's control socket ($VOICEBOX_CONTROL overrides)."""
    env = os.environ.get("VOICEBOX_CONTROL")
    return Path(env) if env else data_dir() / "control.sock"
