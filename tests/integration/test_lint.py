"""The config checker with the real embedding model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from appliance.assistants.lint import lint
from appliance.brain.embeddings import Embedder
from appliance.config import TEMPLATES, dump_config, load_config, load_template, parse_config


def _levels(problems: list) -> list[str]:
    return [str(p) for p in problems]


def test_starter_and_templates_are_clean(embedder: Embedder) -> None:
    for name in TEMPLATES:
        assert _levels(lint(load_template(name), embedder)) == [], name


def test_the_articles_weak_rules_are_flagged(embedder: Embedder) -> None:
    data = yaml.safe_load(dump_config(load_config()))
    rules = data["assistants"][0]["handoffs"]
    rules[2]["condition"] = "Transfer if it makes sense."
    rules[3]["condition"] = "Transfer for difficult questions."
    rules[4]["condition"] = "Transfer for special requests."
    problems = [p for p in lint(parse_config(data), embedder) if "vague condition" in p.message]
    assert len(problems) == 3
    assert all(p.level == "warning" and "frontdesk" in p.location for p in problems)


def test_a_paraphrased_weak_rule_is_flagged_by_similarity(embedder: Embedder) -> None:
    data = yaml.safe_load(dump_config(load_config()))
    data["assistants"][0]["handoffs"][2]["condition"] = "transfer when the caller asks a hard one"
    problems = [p for p in lint(parse_config(data), embedder) if "vague" in p.message]
    assert problems


def test_overlapping_conditions_are_flagged(embedder: Embedder) -> None:
    data = yaml.safe_load(dump_config(load_config()))
    rules = data["assistants"][0]["handoffs"]
    rules[3]["condition"] = "the caller asks about prices, packages, costs or a quote"
    problems = [p for p in lint(parse_config(data), embedder) if "overlaps" in p.message]
    assert len(problems) == 1
    assert "sales" in problems[0].location and "scheduling" in problems[0].message


def test_unreachable_assistant_and_cycle_without_exit(embedder: Embedder) -> None:
    data = yaml.safe_load(dump_config(load_config()))
    # nobody hands off to german any more
    for a in data["assistants"]:
        a["handoffs"] = [r for r in a["handoffs"] if r["target"] != "german"]
    # sales and support only hand off to each other and have no exit tool
    for a in data["assistants"]:
        if a["name"] in ("sales", "support"):
            a["tools"] = ["handoff"]
            a["handoffs"] = [r for r in a["handoffs"] if r["target"] in ("sales", "support")]
    text = "\n".join(_levels(lint(parse_config(data), embedder)))
    assert "assistants[5] (german): unreachable" in text
    assert "cycle with no exit" in text and "sales, support" in text


def test_unknown_tool_and_missing_adapter_are_errors(embedder: Embedder, tmp_path: Path) -> None:
    data = yaml.safe_load(dump_config(load_config()))
    data["assistants"][1]["tools"].append("teleport")
    data["assistants"][2]["lora"] = {"path": str(tmp_path / "missing.gguf"), "scale": 1.0}
    errors = [p for p in lint(parse_config(data), embedder) if p.level == "error"]
    assert {p.location for p in errors} == {
        "assistants[1] (sales).tools",
        "assistants[2] (scheduling).lora.path",
    }


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance.cli", "config", "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_config_check_command_exit_codes(tmp_path: Path) -> None:
    ok = _check()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "0 error(s), 0 warning(s)" in ok.stdout
    bad = tmp_path / "bad.yaml"
    data = yaml.safe_load(dump_config(load_config()))
    data["assistants"][0]["handoffs"][0]["target"] = "ceo"
    data["assistants"][1]["handoffs"][0]["condition"] = "Transfer if it makes sense."
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    res = _check(str(bad))
    assert res.returncode == 1
    assert (
        "error: assistants[0] (frontdesk).handoffs[0].target: unknown assistant 'ceo'" in res.stdout
    )
    data["assistants"][0]["handoffs"][0]["target"] = "escalation"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    warn = _check(str(bad))
    assert warn.returncode == 0 and "vague condition" in warn.stdout
    assert _check(str(bad), "--strict").returncode == 1
    broken = tmp_path / "broken.yaml"
    broken.write_text("team: [\n", encoding="utf-8")
    res = _check(str(broken))
    assert res.returncode == 1 and "Traceback" not in res.stderr and "broken.yaml:" in res.stdout
