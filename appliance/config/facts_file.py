"""Office facts from a file, for `voicebox facts import` (and the list `voicebox facts list`
prints).

A facts file is YAML, a list of {topic, answer, examples} (a mapping with a `facts:` list is
read too), or CSV with the header `topic,answer,examples` (examples: optional, several separated
by `|`). Every row is checked before anything is added: an empty topic or answer, a missing
column, a topic the file has twice or the config already has; the problems name their rows and
the import adds nothing when there is one.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from appliance.config import Config
from appliance.config.facts import Fact
from appliance.errors import ConfigError

COLUMNS = ("topic", "answer", "examples")
REQUIRED = ("topic", "answer")
EXAMPLE_SEPARATOR = "|"


def normal_topic(topic: str) -> str:
    """A topic as compared: lowercase words, no punctuation ("Opening hours!" = "opening hours")."""
    return " ".join(re.sub(r"[^\w]+", " ", topic.lower()).split())


class FactsFileError(ConfigError):
    """A facts file that cannot be imported; `problems` has one line per bad row."""


def read_facts(path: Path) -> list[Fact]:
    """The facts of a .csv, .yaml or .yml file, all rows checked (FactsFileError lists every
    bad one)."""
    kind = path.suffix.lower()
    if kind not in (".csv", ".yaml", ".yml"):
        raise FactsFileError(
            f"{path}: a facts file is .csv, .yaml or .yml", [f"{path}: not .csv or .yaml"]
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise FactsFileError(
            f"cannot read {path}: {err.strerror}", [f"{path}: {err.strerror}"]
        ) from err
    except UnicodeDecodeError as err:
        raise FactsFileError(
            f"{path}: not UTF-8 text", [f"{path}: not UTF-8 (byte {err.start})"]
        ) from err
    rows = _csv_rows(text, path) if kind == ".csv" else _yaml_rows(text, path)
    facts: list[Fact] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for where, row in rows:
        fact, problem = _fact(row)
        if problem:
            problems.append(f"{path} {where}: {problem}")
            continue
        assert fact is not None
        key = normal_topic(fact.topic)
        if key in seen:
            problems.append(f"{path} {where}: the topic '{fact.topic}' is in {seen[key]} already")
            continue
        seen[key] = where
        facts.append(fact)
    if not rows and not problems:
        problems.append(f"{path}: no facts in the file")
    if problems:
        raise FactsFileError(f"{path}: {len(problems)} problem(s); nothing imported", problems)
    return facts


def _csv_rows(text: str, path: Path) -> list[tuple[str, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        why = "; ".join(
            [f"missing column '{c}'" for c in missing]
            + [f"unknown column '{c}'" for c in unknown]
            + (["a column twice"] if len(set(header)) != len(header) else [])
        )
        raise FactsFileError(
            f"{path}: the header must be {','.join(COLUMNS)}",
            [f"{path} row 1 (header): {why} (the header is {','.join(COLUMNS)})"],
        )
    reader.fieldnames = header
    out: list[tuple[str, dict[str, Any]]] = []
    for n, raw in enumerate(reader, start=2):  # row 1 is the header, as a spreadsheet counts
        if raw.get(None):  # type: ignore[call-overload,unused-ignore]
            out.append((f"row {n}", {"_error": "more cells than columns (quote a comma)"}))
            continue
        cells = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(cells.values()):
            continue  # a blank line
        examples = cells.get("examples", "")
        out.append(
            (
                f"row {n}",
                {
                    "topic": cells.get("topic", ""),
                    "answer": cells.get("answer", ""),
                    "examples": [e.strip() for e in examples.split(EXAMPLE_SEPARATOR) if e.strip()],
                },
            )
        )
    return out


def _yaml_rows(text: str, path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(err, "problem", None) or str(err)
        raise FactsFileError(f"{where}: invalid YAML: {problem}", [f"{where}: {problem}"]) from err
    if isinstance(data, dict) and set(data) == {"facts"}:
        data = data["facts"]
    if not isinstance(data, list):
        raise FactsFileError(
            f"{path}: a YAML facts file is a list of topic, answer, examples",
            [f"{path}: not a list of facts"],
        )
    out: list[tuple[str, dict[str, Any]]] = []
    for n, item in enumerate(data, start=1):
        where = f"entry {n}"
        if not isinstance(item, dict):
            out.append((where, {"_error": "not a mapping with topic, answer, examples"}))
            continue
        unknown = sorted(str(k) for k in item if k not in COLUMNS)
        missing = [c for c in REQUIRED if c not in item]
        if unknown or missing:
            why = [f"missing '{c}'" for c in missing] + [f"unknown key '{k}'" for k in unknown]
            out.append((where, {"_error": "; ".join(why)}))
            continue
        row = {
            k: (str(v).strip() if isinstance(v, str | int | float) else v) for k, v in item.items()
        }
        examples = row.get("examples")
        if examples is None:
            row["examples"] = []
        elif isinstance(examples, str):
            row["examples"] = [examples]
        out.append((where, row))
    return out


def _fact(row: dict[str, Any]) -> tuple[Fact | None, str | None]:
    if "_error" in row:
        return None, str(row["_error"])
    topic = row.get("topic")
    label = f" (topic '{topic}')" if isinstance(topic, str) and topic else ""
    for key in REQUIRED:
        if row.get(key) in (None, ""):
            return None, f"empty {key}{label}"
    try:
        return Fact.model_validate(row), None
    except ValidationError as err:
        why = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        return None, f"{why}{label}"


def _assistant_index(data: dict[str, Any], name: str) -> int:
    names = [a.get("name") for a in data.get("assistants") or [] if isinstance(a, dict)]
    if name not in names:
        raise FactsFileError(
            f"unknown assistant '{name}'",
            [f"unknown assistant '{name}' (the config has: {', '.join(map(str, names))})"],
        )
    return names.index(name)


def add_facts(data: dict[str, Any], facts: list[Fact], assistant: str | None = None) -> str:
    """Add `facts` to the team's (assistant None) or the assistant's facts in the config data (as
    read from YAML); refuses (FactsFileError, data unchanged) a topic one assistant would then
    see twice: one the list has, one the team has (for an assistant), one an assistant has (for
    the team). Returns where they went, e.g. "team.facts" or "assistants[1] (sales).facts"."""
    assistants = [a for a in data.get("assistants") or [] if isinstance(a, dict)]
    team_facts = (data.get("team") or {}).get("facts") or []
    have: dict[str, str] = {}  # normalised topic -> where the config has it
    if assistant is None:
        target = "team.facts"
        for fi, f in enumerate(team_facts):
            have.setdefault(normal_topic(str(f.get("topic", ""))), f"team.facts[{fi}]")
        for ai, a in enumerate(assistants):
            for fi, f in enumerate(a.get("facts") or []):
                where = f"assistants[{ai}] ({a.get('name')}).facts[{fi}]"
                have.setdefault(normal_topic(str(f.get("topic", ""))), where)
    else:
        ai = _assistant_index(data, assistant)
        target = f"assistants[{ai}] ({assistant}).facts"
        for fi, f in enumerate(data["assistants"][ai].get("facts") or []):
            have.setdefault(normal_topic(str(f.get("topic", ""))), f"{target}[{fi}]")
        for fi, f in enumerate(team_facts):
            have.setdefault(normal_topic(str(f.get("topic", ""))), f"team.facts[{fi}]")
    problems = [
        f"'{f.topic}': the topic exists already ({have[normal_topic(f.topic)]})"
        for f in facts
        if normal_topic(f.topic) in have
    ]
    if problems:
        raise FactsFileError(f"{len(problems)} topic(s) exist already; nothing imported", problems)
    new = [f.model_dump(mode="json") for f in facts]
    if assistant is None:
        team = data.setdefault("team", {})
        team["facts"] = [*(team.get("facts") or []), *new]
    else:
        a = data["assistants"][_assistant_index(data, assistant)]
        a["facts"] = [*(a.get("facts") or []), *new]
    return target


def fact_lines(cfg: Config, assistant: str | None = None) -> list[str]:
    """`topic: answer` lines of the team's facts, or of one assistant's own facts."""
    if assistant is not None and assistant not in cfg.names:
        raise FactsFileError(
            f"unknown assistant '{assistant}'",
            [f"unknown assistant '{assistant}' (the config has: {', '.join(cfg.names)})"],
        )
    facts = cfg.team.facts if assistant is None else cfg.assistant(assistant).facts
    return [f"{f.topic}: {f.answer}" for f in facts]
