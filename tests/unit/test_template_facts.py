"""The shipped templates carry the office's facts as data (team.facts, assistants[].facts), not as
prose in the system prompts, and the grounding question sets (tests/grounding/<template>.dev.yaml
and .eval.yaml) ask about facts that exist, of the assistant that can see them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.config import TEMPLATES, Config, load_template, template_text

GROUNDING = Path(__file__).resolve().parents[1] / "grounding"
SPLITS = ("dev", "eval")
KINDS = {"answerable", "unanswerable", "mixed", "indirect", "garbled"}
MARKER = "# Example facts: edit them for your office."
# what the templates used to tell callers (tests/unit/test_tools.py): a fact must not say it either
FALSE_PROMISES = re.compile(
    r"confirm the booking|open (a|an) (\w+ )?ticket|calls? back (today|within)|"
    r"within \d+ minutes|on site within|we can add|vereinbarst|to book (it|a time|the)",
    re.IGNORECASE,
)
# Numbers a prompt keeps although a fact states them too: safety instructions the assistant must
# give without waiting for retrieval. The healthcare prompts tell the assistant to say exactly
# "Please hang up now and dial 911." (a quoted phrase other tests check); the trade emergency
# prompt keeps the gas company's number, said before anything else when a caller smells gas.
PROMPT_NUMBERS_ALLOWED = {
    "healthcare": ["dial 911"],
    "trade": ["555 0911"],
}
# what the caller hears when the box defers or takes a message: an expected answer token that
# one of these contains would pass for a deferral
DEFERRALS = [
    "I'll pass your request to the team; someone will call you back to confirm a time.",
    "I'll pass this to the technician on call; someone will call you back with the status.",
    "I don't have that information here. I can take a message, and someone from the office "
    "will call you back.",
    "Ich gebe Ihr Anliegen an das Team weiter; jemand ruft Sie zurück.",
    "Dazu habe ich hier leider keine Angaben. Ich kann eine Nachricht aufnehmen, und jemand aus "
    "dem Büro ruft Sie zurück.",
    "I'm sorry, I can't help with that. Is there anything else I can do for you?",
]
NUMBER = re.compile(r"\d{2,}")


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _visible(cfg: Config, assistant: str) -> dict[str, str]:
    """Topic -> answer of the facts the assistant may tell (the team's and its own)."""
    own = cfg.assistant(assistant).facts
    return {f.topic: f.answer for f in [*cfg.team.facts, *own]}


def _questions(name: str, split: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((GROUNDING / f"{name}.{split}.yaml").read_text(encoding="utf-8"))
    assert set(data) == {"template", "questions"}, (name, split)
    assert data["template"] == name
    questions: list[dict[str, Any]] = data["questions"]
    return questions


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_template_has_team_facts_and_assistant_facts_marked_as_examples(name: str) -> None:
    cfg = load_template(name)
    assert len(cfg.team.facts) >= 4, name
    assert any(a.facts for a in cfg.assistants), name
    assert MARKER in template_text(name)
    for a in cfg.assistants:
        topics = [t.lower() for t in _visible(cfg, a.name)]
        assert len(topics) == len(set(topics)), f"{name}/{a.name}: a topic twice"
    for owner, facts in [("team", cfg.team.facts), *((a.name, a.facts) for a in cfg.assistants)]:
        for f in facts:
            where = f"{name}/{owner}/{f.topic}"
            assert len(f.topic.split()) <= 6, where
            assert 1 <= len(f.examples) <= 3, where
            assert not FALSE_PROMISES.search(f.answer), where


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_callback_in_a_fact_is_one_the_assistant_can_take_a_message_for(name: str) -> None:
    cfg = load_template(name)
    for a in cfg.assistants:
        for f in [*cfg.team.facts, *a.facts]:
            if "call you back" in f.answer or "calls you back" in f.answer:
                assert "take_message" in a.tools, f"{name}/{a.name}: {f.topic}"


@pytest.mark.parametrize("name", TEMPLATES)
def test_no_system_prompt_carries_a_number_of_the_facts(name: str) -> None:
    cfg = load_template(name)
    answers = [f.answer for f in cfg.team.facts]
    answers += [f.answer for a in cfg.assistants for f in a.facts]
    numbers = {n for answer in answers for n in NUMBER.findall(answer)}
    assert numbers
    for a in cfg.assistants:
        prompt = a.system_prompt
        for allowed in PROMPT_NUMBERS_ALLOWED.get(name, []):
            prompt = prompt.replace(allowed, "")
        found = set(NUMBER.findall(prompt)) & numbers
        assert not found, f"{name}/{a.name}: the prompt still says {sorted(found)}"


def test_the_allowed_prompt_numbers_are_still_in_the_prompts() -> None:
    for name, phrases in PROMPT_NUMBERS_ALLOWED.items():
        prompts = " ".join(a.system_prompt for a in load_template(name).assistants)
        for phrase in phrases:
            assert phrase in prompts, (name, phrase)


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("name", TEMPLATES)
def test_a_grounding_question_asks_an_assistant_about_a_fact_it_can_see(
    name: str, split: str
) -> None:
    cfg = load_template(name)
    questions = _questions(name, split)
    examples = {_norm(e) for f in cfg.team.facts for e in f.examples}
    examples |= {_norm(e) for a in cfg.assistants for f in a.facts for e in f.examples}
    for q in questions:
        where = f"{name}.{split}: {q.get('ask')}"
        assert set(q) <= {"ask", "assistant", "kind", "fact", "expect_any", "expect_all"}, where
        assert isinstance(q["ask"], str) and q["ask"].strip(), where
        assert q["assistant"] in cfg.names, where
        assert q["kind"] in KINDS, where
        assert _norm(q["ask"]) not in examples, f"{where}: a fact's own example"
        if q["kind"] == "unanswerable":
            assert not {"fact", "expect_any", "expect_all"} & set(q), where
            continue
        visible = _visible(cfg, q["assistant"])
        assert q["fact"] in visible, f"{where}: no fact '{q['fact']}' for {q['assistant']}"
        answer = visible[q["fact"]].lower()
        tokens = [str(t) for t in q.get("expect_any", [])]
        every = [str(t) for t in q.get("expect_all", [])]
        assert tokens, f"{where}: no expect_any"
        assert any(t.lower() in answer for t in tokens), f"{where}: {tokens} not in the fact"
        assert all(t.lower() in answer for t in every), f"{where}: {every} not in the fact"
        assert any(t.lower() not in q["ask"].lower() for t in tokens), f"{where}: echoes the ask"
        for t in [*tokens, *every]:
            for phrase in DEFERRALS:
                assert t.lower() not in phrase.lower(), f"{where}: '{t}' is in a deferral"


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("name", TEMPLATES)
def test_a_split_has_about_the_planned_mix_of_kinds(name: str, split: str) -> None:
    questions = _questions(name, split)
    size = {"dev": 12, "eval": 20}[split]
    assert size - 2 <= len(questions) <= size + 3, (name, split, len(questions))
    share = {k: sum(q["kind"] == k for q in questions) / len(questions) for k in KINDS}
    assert 0.3 <= share["answerable"] <= 0.5, (name, split, share)
    assert 0.2 <= share["unanswerable"] <= 0.4, (name, split, share)
    for kind in ("mixed", "indirect", "garbled"):
        assert share[kind] > 0, (name, split, kind)
    asks = [_norm(q["ask"]) for q in questions]
    assert len(asks) == len(set(asks)), (name, split)


@pytest.mark.parametrize("name", TEMPLATES)
def test_dev_and_eval_questions_do_not_overlap(name: str) -> None:
    dev = {_norm(q["ask"]) for q in _questions(name, "dev")}
    held_out = {_norm(q["ask"]) for q in _questions(name, "eval")}
    assert not dev & held_out, sorted(dev & held_out)


def test_every_question_file_is_a_template_split() -> None:
    files = {p.name for p in GROUNDING.glob("*.yaml")}
    assert files == {f"{n}.{s}.yaml" for n in TEMPLATES for s in SPLITS}
