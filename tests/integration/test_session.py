"""KV state, prefix reuse, grammars and cancellation of `LlamaSession`, on SmolLM2-135M."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator

import pytest

from appliance.assistants.prompts import system_prompt
from appliance.brain.grammar import choice_grammar, slots_grammar
from appliance.brain.llm import Message, SharedModel
from appliance.brain.session import LlamaSession
from appliance.config import load_config
from appliance.errors import BrainError

pytestmark = pytest.mark.real

N_TOKENS = 24


@pytest.fixture(scope="module")
def model(smol_model: SharedModel) -> SharedModel:
    return smol_model


@pytest.fixture(scope="module")
def session(model: SharedModel) -> Iterator[LlamaSession]:
    s = LlamaSession(model, n_ctx=1024)
    yield s
    s.close()


@pytest.fixture(scope="module")
def system(model: SharedModel) -> list[int]:
    """The front desk's real system prompt (a few hundred tokens)."""
    frontdesk = load_config().assistants[0]
    return model.start_tokens() + model.format_message(Message("system", system_prompt(frontdesk)))


def turn(model: SharedModel, text: str) -> list[int]:
    return model.format_message(Message("user", text)) + model.assistant_header()


def continuation(session: LlamaSession, prompt: list[int], max_tokens: int = N_TOKENS) -> str:
    session.eval_prompt(prompt)
    return "".join(session.generate(max_tokens=max_tokens))


def test_restore_gives_identical_continuation(
    model: SharedModel, session: LlamaSession, system: list[int]
) -> None:
    prompt = system + turn(model, "Hello, when are you open on Saturday?")

    session.clear()
    session.eval_prompt(system)
    state = session.save()
    assert state.tokens == tuple(system)
    assert state.nbytes > 0
    reference = continuation(session, prompt)
    reference_tokens = session.tokens[len(prompt) :]
    assert reference_tokens

    # re-evaluate the same prompt from scratch, the same way (system prompt, then the turn)
    session.clear()
    session.eval_prompt(system)
    assert continuation(session, prompt) == reference

    # restore the saved state instead: only the turn is evaluated, the output is identical
    session.clear()
    session.restore(state)
    assert session.tokens == system
    assert bytes(session.save().data) == bytes(state.data)
    assert session.eval_prompt(prompt) == len(prompt) - len(system)
    assert "".join(session.generate(max_tokens=N_TOKENS)) == reference
    assert session.tokens[len(prompt) :] == reference_tokens

    # restoring over a cache that holds other tokens works just as well
    session.eval_prompt(system + turn(model, "Something else entirely."))
    session.restore(state)
    assert continuation(session, prompt) == reference


def test_restore_much_faster_than_reevaluation(session: LlamaSession, system: list[int]) -> None:
    assert len(system) > 100
    session.clear()
    session.eval_prompt(system)
    state = session.save()
    reeval: list[float] = []
    restore: list[float] = []
    for _ in range(3):
        session.clear()
        t0 = time.perf_counter()
        session.eval_prompt(system)
        reeval.append(time.perf_counter() - t0)
        session.clear()
        t0 = time.perf_counter()
        session.restore(state)
        restore.append(time.perf_counter() - t0)
    assert session.tokens == system
    assert min(restore) < min(reeval) / 5, (restore, reeval)


def test_eval_prompt_reuses_common_prefix(
    model: SharedModel, session: LlamaSession, system: list[int]
) -> None:
    first = system + turn(model, "What is your address?")
    longer = first + model.tokenize("It is 42 Harbour Street.")
    other = system + turn(model, "Do you sell printers?")

    session.clear()
    assert session.eval_prompt(first) == len(first)
    assert session.tokens == first
    assert session.eval_prompt(longer) == len(longer) - len(first)  # only the suffix
    assert session.tokens == longer
    assert session.eval_prompt(longer) == 1  # nothing new: the last token again, for logits
    shared = next(i for i, (a, b) in enumerate(zip(longer, other, strict=False)) if a != b)
    assert shared > len(system)
    assert session.eval_prompt(other) == len(other) - shared  # only after the divergence
    assert session.tokens == other
    assert session.eval_prompt(system) == 1  # a prefix of the cache: truncated, not re-evaluated
    assert session.tokens == system


def test_prompt_longer_than_context_raises(model: SharedModel) -> None:
    small = LlamaSession(model, n_ctx=128)
    try:
        word = model.tokenize(" hello")
        with pytest.raises(BrainError, match="exceeds the context"):
            small.eval_prompt(word * 300)
        with pytest.raises(BrainError, match="exceeds the context"):
            small.eval_prompt(word * small.n_ctx)
        assert small.eval_prompt(word * 10) == 10  # the session is still usable
    finally:
        small.close()


@pytest.mark.parametrize(
    "utterance",
    [
        "I want to buy new laptops for my office.",
        "My printer is broken and shows an error.",
        "Can I book an appointment for Tuesday?",
        "Good morning!",
    ],
)
def test_choice_grammar_yields_only_an_option(
    model: SharedModel, session: LlamaSession, utterance: str
) -> None:
    options = ["sales", "support", "scheduling", "stay"]
    prompt = (
        model.start_tokens()
        + model.format_message(
            Message(
                "system",
                "Route the caller's message. Answer with one word: sales, support, scheduling "
                "or stay.",
            )
        )
        + turn(model, utterance)
    )
    session.eval_prompt(prompt)
    out = "".join(session.generate(max_tokens=16, grammar=choice_grammar(options)))
    assert out in options


def test_slots_grammar_output_is_json_with_allowed_keys(
    model: SharedModel, session: LlamaSession
) -> None:
    keys = ["name", "company", "need"]
    said = "Hi, this is Anna Berg from Acme, I need a quote for ten laptops."
    prompt = (
        model.start_tokens()
        + model.format_message(
            Message(
                "system",
                "Extract facts from the caller's message as JSON with the keys name, company, "
                "need. Only keys the message states.",
            )
        )
        + turn(model, said)
    )
    session.eval_prompt(prompt)
    out = "".join(session.generate(max_tokens=160, grammar=slots_grammar(keys)))
    data = json.loads(out)
    assert isinstance(data, dict)
    assert set(data) <= set(keys)
    assert all(isinstance(v, str) and v and "\n" not in v for v in data.values())
    # {} would pass the lines above: the message states facts, and what is extracted is in it
    assert data, out
    words = set(re.findall(r"\w+", said.lower()))
    assert all(set(re.findall(r"\w+", v.lower())) & words for v in data.values()), data


def test_invalid_grammar_raises(model: SharedModel, session: LlamaSession) -> None:
    session.eval_prompt(model.start_tokens() + turn(model, "Hi"))
    with pytest.raises(BrainError, match="invalid grammar"):
        list(session.generate(max_tokens=4, grammar="root ::= ( unclosed"))


def test_cancel_before_generation_yields_nothing(
    model: SharedModel, session: LlamaSession, system: list[int]
) -> None:
    prompt = system + turn(model, "Tell me everything about your company.")
    session.eval_prompt(prompt)
    cancel = threading.Event()
    cancel.set()
    assert list(session.generate(max_tokens=N_TOKENS, cancel=cancel)) == []
    assert session.tokens == prompt


def test_cancel_while_generating_stops(
    model: SharedModel, session: LlamaSession, system: list[int]
) -> None:
    prompt = system + turn(model, "Tell me everything about your company and its services.")
    long_run = 64
    continuation(session, prompt, max_tokens=long_run)
    # the reference comes through the same path as the runs below (cached prompt, last token
    # re-decoded alone): llama.cpp's logits differ slightly with the batch shape, enough to
    # flip a near-tie under greedy sampling
    full = continuation(session, prompt, max_tokens=long_run)
    n_full = len(session.tokens) - len(prompt)
    assert n_full > 8, full

    # set from the consuming loop: the generator stops before the next token
    session.eval_prompt(prompt)
    cancel = threading.Event()
    pieces: list[str] = []
    for piece in session.generate(max_tokens=long_run, cancel=cancel):
        pieces.append(piece)
        if len(pieces) == 3:
            cancel.set()
    assert len(pieces) == 3
    assert "".join(pieces) == full[: len("".join(pieces))]

    # set from another thread while a worker thread generates
    session.eval_prompt(prompt)
    cancel = threading.Event()
    started = threading.Event()
    worker_pieces: list[str] = []

    def work() -> None:
        for piece in session.generate(max_tokens=long_run, cancel=cancel):
            worker_pieces.append(piece)
            started.set()
            time.sleep(0.01)  # a slow consumer, like speech synthesis

    worker = threading.Thread(target=work)
    worker.start()
    assert started.wait(30)
    cancel.set()
    at_cancel = len(worker_pieces)
    worker.join(30)
    assert not worker.is_alive()
    assert at_cancel <= len(worker_pieces) <= at_cancel + 1
    assert len(worker_pieces) < n_full
