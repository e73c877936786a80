from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from appliance.config import (
    TEMPLATES,
    HistoryPolicy,
    dump_config,
    load_config,
    load_template,
    parse_config,
    parse_yaml,
)
from appliance.errors import ConfigError

STARTER_NAMES = {"frontdesk", "sales", "scheduling", "support", "escalation", "german"}


def test_starter_team_has_the_required_assistants() -> None:
    cfg = load_config()
    assert set(cfg.names) == STARTER_NAMES
    assert cfg.team.entry == "frontdesk"
    assert cfg.team.max_handoffs == 4


def test_every_assistant_can_reach_escalation_with_top_priority() -> None:
    cfg = load_config()
    for a in cfg.assistants:
        if a.name == "escalation":
            continue
        rules = {r.target: r for r in a.handoffs}
        assert "escalation" in rules, a.name
        assert rules["escalation"].priority == max(r.priority for r in a.handoffs)


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_loads(name: str) -> None:
    cfg = load_template(name)
    assert cfg.team.entry in cfg.names
    assert len(cfg.assistants) >= 3


def test_dump_and_parse_round_trip() -> None:
    cfg = load_config()
    again = parse_yaml(dump_config(cfg), "dumped")
    assert again == cfg


def _data() -> dict:
    return yaml.safe_load(dump_config(load_config()))


def test_unknown_target_is_an_error_with_its_location() -> None:
    data = _data()
    data["assistants"][0]["handoffs"][0]["target"] = "billing"
    with pytest.raises(ConfigError) as info:
        parse_config(data, "test.yaml")
    assert any(
        "assistants[0] (frontdesk).handoffs[0].target" in p and "billing" in p
        for p in info.value.problems
    )


def _problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "test.yaml")
    problems = info.value.problems
    assert info.value.message == f"test.yaml: {len(problems)} problem(s)"
    return problems


# the rules that pointed at "sales" once assistants[1] (sales) is renamed
SALES_GONE = [
    "assistants[0] (frontdesk).handoffs[2].target: unknown assistant 'sales'",
    "assistants[2] (scheduling).handoffs[1].target: unknown assistant 'sales'",
    "assistants[3] (support).handoffs[2].target: unknown assistant 'sales'",
]


def test_every_problem_is_reported_not_just_the_first() -> None:
    """A type error does not hide the reference problems (README: "every problem with its
    location"): the same references are reported with and without it."""
    data = _data()
    data["assistants"][1]["name"] = "frontdesk"
    data["team"]["entry"] = "nobody"
    data["assistants"][2]["handoffs"][0]["history"] = "everything"
    references = [
        "assistants[1].name: duplicate assistant name 'frontdesk'",
        "team.entry: unknown assistant 'nobody'",
        *SALES_GONE,
    ]
    history = (
        "assistants[2] (scheduling).handoffs[0].history: "
        "Input should be 'full', 'last_n', 'summary' or 'none'"
    )
    assert _problems(data) == [history, *references]
    data["assistants"][2]["handoffs"][0]["history"] = "full"
    assert _problems(data) == references


def test_references_are_checked_around_broken_values() -> None:
    """Type errors in nested models, a missing field and an item that is not a mapping: the
    references are still checked (a broken item defines no assistant), and a value with a type
    error is not reported a second time as a broken reference."""
    data = _data()
    data["team"]["max_handoffs"] = "many"
    data["assistants"][0]["voice"]["length_scale"] = 9
    data["assistants"][0]["handoffs"][0]["target"] = "billing"
    data["assistants"][3]["handoffs"][0]["target"] = "Bad Name"
    del data["assistants"][4]["system_prompt"]
    data["assistants"][5] = "not a mapping"  # was german
    data["sip"]["port"] = "x"
    data["sip"]["overflow_to"] = "nobody"
    assert sorted(_problems(data)) == sorted(
        [
            "team.max_handoffs: Input should be a valid integer, unable to parse string as an "
            "integer",
            "assistants[0] (frontdesk).voice.length_scale: Input should be less than 3",
            "assistants[3] (support).handoffs[0].target: "
            "String should match pattern '^[a-z][a-z0-9_-]{0,31}$'",
            "assistants[4] (escalation).system_prompt: Field required",
            "assistants[5]: Input should be a valid dictionary or instance of Assistant",
            "sip.port: Input should be a valid integer, unable to parse string as an integer",
            "assistants[0] (frontdesk).handoffs[0].target: unknown assistant 'billing'",
            "assistants[0] (frontdesk).handoffs[1].target: unknown assistant 'german'",
            "sip.overflow_to: unknown human extension 'nobody'",
        ]
    )


def test_unknown_field_and_bad_type_are_located() -> None:
    data = _data()
    data["assistants"][0]["handoffs"][0]["prority"] = 5
    data["team"]["max_handoffs"] = "many"
    with pytest.raises(ConfigError) as info:
        parse_config(data, "test.yaml")
    text = "\n".join(info.value.problems)
    assert "assistants[0] (frontdesk).handoffs[0].prority" in text
    assert "team.max_handoffs" in text


def test_self_handoff_is_rejected() -> None:
    data = _data()
    data["assistants"][1]["handoffs"][0]["target"] = data["assistants"][1]["name"]
    with pytest.raises(ConfigError, match="problem"):
        parse_config(data, "x")


def test_invalid_yaml_reports_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "broken.yaml"
    f.write_text("team:\n  entry: frontdesk\n assistants: [\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(f)
    assert "broken.yaml:3:" in info.value.message


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_relative_lora_path_is_resolved_from_the_config_folder(tmp_path: Path) -> None:
    data = _data()
    data["assistants"][1]["lora"] = {"path": "adapters/sales.gguf", "scale": 0.5}
    f = tmp_path / "team.yaml"
    f.write_text(yaml.safe_dump(data), encoding="utf-8")
    cfg = load_config(f)
    lora = cfg.assistants[1].lora
    assert lora is not None
    assert lora.path == str(tmp_path / "adapters" / "sales.gguf")


def test_history_policies_parse() -> None:
    cfg = load_config()
    policies = {r.history for a in cfg.assistants for r in a.handoffs}
    assert HistoryPolicy.FULL in policies and HistoryPolicy.SUMMARY in policies


def test_an_assistant_slot_may_not_repeat_a_team_slot() -> None:
    data = _data()
    data["assistants"][1]["slots"] = [{"name": "name", "description": "again"}]
    with pytest.raises(ConfigError) as info:
        parse_config(data, "x")
    assert any(
        "assistants[1] (sales).slots: duplicate slot 'name'" in p for p in info.value.problems
    )


def test_a_dumped_config_keeps_every_secret_as_it_is() -> None:
    """The TUI saves through dump_config: a masked password ('**********') written back would
    lock the box out of its calendar, address book, mail server or PBX."""
    data = yaml.safe_load(dump_config(load_config()))
    data["sip"]["accounts"] = [{"registrar": "pbx", "user": "100", "password": "sip-pw"}]
    data["team"]["hours"] = {"mon": "09:00-17:00"}
    data["integrations"] = {
        "calendar": {"url": "http://cal/", "password": "cal-pw",
                     "appointments": [{"name": "consultation"}]},
        "contacts": {"carddav": {"url": "http://cal/book/", "password": "book-pw"}},
        "smtp": {"host": "mail", "password": "mail-pw", "sender": "a@b.c", "to": ["d@e.f"]},
        "webhooks": [{"name": "crm", "url": "http://crm/", "secret": "hook-pw"}],
    }  # fmt: skip
    text = dump_config(parse_yaml(yaml.safe_dump(data), "edited"))
    for secret in ("sip-pw", "cal-pw", "book-pw", "mail-pw", "hook-pw"):
        assert secret in text
    assert "*****" not in text
