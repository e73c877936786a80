from __future__ import annotations

import pytest

from appliance.brain.grammar import choice_grammar, slots_grammar


def test_choice_grammar_lists_only_the_options() -> None:
    g = choice_grammar(["stay", "sales"])
    assert g == 'root ::= "stay" | "sales"\n'
    with pytest.raises(ValueError):
        choice_grammar([])


def test_choice_grammar_escapes_quotes() -> None:
    assert '"say \\"hi\\""' in choice_grammar(['say "hi"'])


def test_slots_grammar_names_each_key() -> None:
    g = slots_grammar(["name", "callback"])
    assert '"\\"name\\": " value' in g and '"\\"callback\\": " value' in g
    assert slots_grammar([]) == 'root ::= "{}"\n'
