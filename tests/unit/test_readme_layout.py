"""The README's layout section names every module and folder of the tree (and no folder that
is gone)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def layout() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


def test_every_module_and_folder_is_in_the_layout() -> None:
    block = layout()
    words = set(re.findall(r"[A-Za-z_][\w]*", block))
    missing = []
    for pkg in ("appliance", "tui"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if path.name in ("__init__.py", "__main__.py") or "__pycache__" in path.parts:
                continue
            if path.stem not in words:
                missing.append(str(path.relative_to(ROOT)))
    for folder in sorted(p for p in (ROOT / "appliance").iterdir() if p.is_dir()):
        if folder.name != "__pycache__" and f"{folder.name}/" not in block:
            missing.append(f"appliance/{folder.name}/")
    assert missing == []


def test_no_folder_in_the_layout_is_gone() -> None:
    block = layout()
    assert len(re.findall(r"^ {0,2}([a-z_]+)/ ", block, re.M)) >= 15
    named = re.findall(r"^ {0,2}([a-z_]+)/ ", block, re.M)  # the first column: a folder
    gone = [
        n for n in named if not (ROOT / "appliance" / n).is_dir() and not (ROOT / n).is_dir()
    ]
    assert gone == []
