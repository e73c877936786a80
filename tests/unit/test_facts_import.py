"""`voicebox facts import FILE [--assistant NAME] [--config F]` and `voicebox facts list`: CSV and
YAML facts files, good and bad, written to a real config file as the TUI writes it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from appliance.cli import main
from appliance.config import load_config, template_text
from appliance.config.facts_file import FactsFileError, read_facts

CSV_GOOD = (
    "topic,answer,examples\n"
    'holiday closing,"We are closed from December 24 to January 1.",'
    "When are you closed for Christmas?|Are you open on New Year's Day?\n"
    "Wi-Fi for visitors,The guest Wi-Fi is called Brightline-Guest.,\n"
)
YAML_GOOD = """
- topic: holiday closing
  answer: We are closed from December 24 to January 1.
  examples:
    - When are you closed for Christmas?
- topic: Wi-Fi for visitors
  answer: The guest Wi-Fi is called Brightline-Guest.
"""


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    """The starter team as `voicebox init` writes it (0640 here: the mode must stay)."""
    path = tmp_path / "voicebox.yaml"
    path.write_text(template_text("starter"), encoding="utf-8")
    os.chmod(path, 0o640)
    return path


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(*argv: str) -> int:
    return main(["facts", *argv])


def test_csv_import_adds_team_facts_and_keeps_mode(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config.read_text()
    teams = len(load_config(config).team.facts)
    assert run("import", str(write(tmp_path, "f.csv", CSV_GOOD)), "--config", str(config)) == 0
    assert "added 2 fact(s) to team.facts" in capsys.readouterr().out
    cfg = load_config(config)
    assert len(cfg.team.facts) == teams + 2
    new = cfg.team.facts[-2]
    assert (new.topic, new.answer) == (
        "holiday closing",
        "We are closed from December 24 to January 1.",
    )
    assert new.examples == ["When are you closed for Christmas?", "Are you open on New Year's Day?"]
    assert cfg.team.facts[-1].examples == []
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert config.with_name("voicebox.yaml.bak").read_text() == before
    assert not list(tmp_path.glob(".voicebox.yaml.*"))  # no temp file left


def test_yaml_import_to_an_assistant(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = load_config(config).team.facts
    facts = write(tmp_path, "f.yaml", YAML_GOOD)
    assert run("import", str(facts), "--assistant", "support", "--config", str(config)) == 0
    assert "(support).facts" in capsys.readouterr().out
    cfg = load_config(config)
    assert cfg.team.facts == team
    assert [f.topic for f in cfg.assistant("support").facts[-2:]] == [
        "holiday closing",
        "Wi-Fi for visitors",
    ]
    assert cfg.assistant("support").facts[-2].examples == ["When are you closed for Christmas?"]


def test_list_prints_topic_answer_lines(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("list", "--config", str(config)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("opening hours: We are open Monday to Friday")
    assert len(out) == len(load_config(config).team.facts)
    assert run("list", "--assistant", "sales", "--config", str(config)) == 0
    assert capsys.readouterr().out.startswith("Basic package: The Basic package costs 49")
    assert run("list", "--assistant", "nobody", "--config", str(config)) == 1
    assert "unknown assistant 'nobody'" in capsys.readouterr().err


BAD = [
    ("f.csv", "topic,examples\nhours,When?\n", "row 1 (header): missing column 'answer'"),
    ("f.csv", "topic,answer,notes\nhours,9 to 5,x\n", "unknown column 'notes'"),
    ("f.csv", "topic,answer,examples\nparking,Behind the house,\nwifi,,\n", "row 3: empty answer"),
    ("f.csv", "topic,answer,examples\n,Behind the house,\n", "row 2: empty topic"),
    ("f.csv", "topic,answer\nparking,Behind,the house\n", "row 2: more cells than columns"),
    (
        "f.csv",
        "topic,answer\nParking,Behind the house\nparking!,In the street\n",
        "row 3: the topic 'parking!' is in row 2 already",
    ),
    ("f.csv", "topic,answer\nopening hours,Always\n", "the topic exists already (team.facts[0])"),
    ("f.yaml", "- topic: parking\n  answer: ''\n", "entry 1: empty answer (topic 'parking')"),
    ("f.yaml", "- topic: parking\n- answer: x\n", "entry 1: missing 'answer'"),
    ("f.yaml", "- topic: parking\n  answer: x\n  where: y\n", "entry 1: unknown key 'where'"),
    ("f.yaml", "topic: parking\nanswer: x\n", "not a list of facts"),
    ("f.yaml", "- topic: [parking\n", "f.yaml:"),
    ("f.txt", "parking: behind\n", "not .csv or .yaml"),
]


@pytest.mark.parametrize(("name", "text", "expected"), BAD, ids=[b[2][:30] for b in BAD])
def test_bad_file_names_the_row_and_writes_nothing(
    tmp_path: Path,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str,
    expected: str,
) -> None:
    before = config.read_bytes()
    assert run("import", str(write(tmp_path, name, text)), "--config", str(config)) == 1
    err = capsys.readouterr().err
    assert expected in err, err
    assert config.read_bytes() == before
    assert not config.with_name("voicebox.yaml.bak").exists()


def test_every_bad_row_is_listed(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", "topic,answer,examples\na,,\nb,ok,\n,x,\n")
    with pytest.raises(FactsFileError) as err:
        read_facts(path)
    assert [p.split(": ", 1)[0].rsplit(" ", 2)[-2:] for p in err.value.problems] == [
        ["row", "2"],
        ["row", "4"],
    ]


def test_unknown_assistant_writes_nothing(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config.read_bytes()
    facts = write(tmp_path, "f.csv", CSV_GOOD)
    assert run("import", str(facts), "--assistant", "billing", "--config", str(config)) == 1
    assert "unknown assistant 'billing'" in capsys.readouterr().err
    assert config.read_bytes() == before


def test_assistant_topic_the_team_has_is_refused(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = write(tmp_path, "f.yaml", "- topic: Opening hours\n  answer: Support is 24/7.\n")
    assert run("import", str(facts), "--assistant", "support", "--config", str(config)) == 1
    assert "'Opening hours': the topic exists already (team.facts[0])" in capsys.readouterr().err


def test_team_topic_an_assistant_has_is_refused(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = write(tmp_path, "f.csv", "topic,answer\nbasic package,It is cheap.\n")
    assert run("import", str(facts), "--config", str(config)) == 1
    assert "(sales).facts[0]" in capsys.readouterr().err


def test_import_into_a_missing_config_is_refused(tmp_path: Path) -> None:
    facts = write(tmp_path, "f.csv", CSV_GOOD)
    missing = tmp_path / "none.yaml"
    assert run("import", str(facts), "--config", str(missing)) == 1
    assert not missing.exists()


def test_csv_with_a_bom_and_quoted_commas(tmp_path: Path, config: Path) -> None:
    text = '\ufefftopic,answer,examples\nprices,"Basic 49, Standard 99",How much?|Prices?\n'
    path = tmp_path / "excel.csv"
    path.write_text(text, encoding="utf-8")
    (fact,) = read_facts(path)
    assert (fact.topic, fact.answer, fact.examples) == (
        "prices",
        "Basic 49, Standard 99",
        ["How much?", "Prices?"],
    )
    assert yaml.safe_load(config.read_text())["team"]["facts"]  # untouched fixture
