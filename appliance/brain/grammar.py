"""GBNF grammars: the LLM may only answer inside them (never free text where a choice is due)."""

from __future__ import annotations

import json


def _literal(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid GBNF literal for plain text


def choice_grammar(options: list[str]) -> str:
    """Exactly one of `options`."""
    if not options:
        raise ValueError("a choice needs at least one option")
    return "root ::= " + " | ".join(_literal(o) for o in options) + "\n"


def slots_grammar(keys: list[str]) -> str:
    """A flat JSON object whose keys are among `keys`, with one-line string values.

    Values are unbounded in the grammar (a bounded repetition like {1,60} makes llama.cpp's
    grammar sampler ~20x slower): the caller bounds them with max_tokens.
    """
    if not keys:
        return 'root ::= "{}"\n'
    pairs = " | ".join(f'"\\"{k}\\": " value' for k in keys)
    return (
        'root ::= "{" ( pair ( ", " pair )* )? "}"\n'
        f"pair ::= {pairs}\n"
        'value ::= "\\"" [^"\\\\\\n]+ "\\""\n'
    )
