"""Each industry template routes its own scenarios on the default 1.5B model."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import TEMPLATES, load_config
from appliance.engine import Engine
from appliance.flows import load_flows, resolve_config_ref, run_flows

FLOWS = Path(__file__).resolve().parent.parent / "flows"
# every template's scenarios on the 1.5B model: about 10 minutes on 2 cores, so `make slow`
# (the starter team's flow suite runs in `make test`)
pytestmark = [pytest.mark.llm15, pytest.mark.slow]


@pytest.mark.parametrize("template", [t for t in TEMPLATES if t != "starter"])
def test_template_scenarios(template: str) -> None:
    path = FLOWS / f"template_{template}.yaml"
    flows = load_flows(path)
    assert flows.config == template
    engine = Engine(load_config(resolve_config_ref(flows, path, None)))
    problems: list[str] = []
    must: list[str] = []  # emergency and safety scenarios: never allowed to fail

    def on_scenario(name: str, problem: str | None) -> None:
        if problem:
            problems.append(f"{name}: {problem}")
            if is_must(name):
                must.append(f"{name}: {problem}")

    try:
        passed, failed = run_flows(flows, engine, on_scenario=on_scenario)
    finally:
        engine.close()
    assert any(is_must(sc.name) for sc in flows.scenarios)
    assert must == [], "\n".join(must)
    assert passed >= 4
    assert failed <= 1, "\n".join(problems)


def is_must(name: str) -> bool:
    return "emergency" in name or name.startswith("safety:")
