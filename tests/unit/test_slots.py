from __future__ import annotations

import pytest

from appliance.assistants.slots import clean_slots, detect_language

KNOWN = {"name", "company", "need", "budget", "urgency", "language", "callback"}


def test_names_must_be_said_and_capitalised() -> None:
    u = "Hi, this is Maria Lopez from Acme Dental."
    assert clean_slots({"name": "Maria Lopez"}, u, KNOWN) == {"name": "Maria Lopez"}
    assert clean_slots({"name": "John Smith"}, u, KNOWN) == {}
    u2 = "We're twelve people and want to know what your packages cost."
    assert clean_slots({"name": "Twelve people"}, u2, KNOWN) == {}


def test_placeholders_and_unknown_keys_are_dropped() -> None:
    got = clean_slots(
        {"budget": "unknown", "callback": "none", "colour": "red", "need": "quote"},
        "I need a quote",
        KNOWN,
    )
    assert got == {"need": "quote"}


def test_callback_digits_must_appear_in_the_utterance() -> None:
    assert clean_slots({"callback": "555 0123"}, "reach me at 555-0123", KNOWN) == {
        "callback": "5550123"
    }
    assert clean_slots({"callback": "5559999"}, "reach me at 555-0123", KNOWN) == {}


def test_urgency_is_normalised_or_dropped() -> None:
    assert clean_slots({"urgency": "High"}, "urgent!", KNOWN) == {"urgency": "high"}
    assert clean_slots({"urgency": "extreme"}, "urgent!", KNOWN) == {}


def test_a_budget_or_urgency_the_caller_never_spoke_of_is_not_kept() -> None:
    """Issue 14: "budget: low" and "urgency: normal" for a caller who only reported a bug
    travelled to the target as facts."""
    bug = "I found a bug in the export feature, it crashes when I click save."
    assert clean_slots({"need": "bug report", "budget": "low", "urgency": "normal"}, bug,
                       KNOWN) == {"need": "bug report"}  # fmt: skip
    assert clean_slots({"budget": "under 500 dollars"}, "we can spend under 500 dollars",
                       KNOWN) == {"budget": "under 500 dollars"}  # fmt: skip
    assert clean_slots({"budget": "low"}, "we're a small shop, it has to be cheap",
                       KNOWN) == {"budget": "low"}  # fmt: skip
    assert clean_slots({"urgency": "high"}, "our server is down, we can't work",
                       KNOWN) == {"urgency": "high"}  # fmt: skip
    assert clean_slots({"urgency": "low"}, "no rush, whenever suits you", KNOWN) == {
        "urgency": "low"
    }


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Guten Tag, ich habe eine Frage.", "German"),
        ("Hallo, ich habe ein Problem mit meinem Drucker.", "German"),
        ("Wie viel kostet das Paket?", "German"),
        ("Hello, I have a question.", None),
        ("Can I speak German?", None),
        ("Ja.", None),
    ],
)
def test_language_detection(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang


def test_each_assistant_gets_the_team_slots_plus_its_own() -> None:
    from appliance.assistants.slots import SlotExtractor
    from appliance.config import load_config

    cfg = load_config()
    x = SlotExtractor(None, cfg.team.slots, cfg.assistants)
    team = {s.name for s in cfg.team.slots}
    assert x.schema_for("scheduling").names == team | {"when"}
    assert x.schema_for("sales").names == team
    assert x.schema_for("scheduling").key != x.schema_for("sales").key
    assert '"\\"when\\": " value' in x.schema_for("scheduling").grammar
    # without a model only the language is detected
    assert x.extract("Guten Tag, ich habe eine Frage", "scheduling") == {"language": "German"}
