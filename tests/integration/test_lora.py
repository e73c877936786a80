"""LoRA adapters on the shared model, proven with real greedy generation on SmolLM2-135M.

Adapters are synthetic (`tests/lora_fixture.py`): an all-zero one must change nothing, a random
one must change the output, and per-session adapter sets must never leak into each other or into
cached KV states.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import gguf
import numpy as np
import pytest

from appliance.brain.llm import Message, SharedModel
from appliance.brain.prefix_cache import PrefixCache
from appliance.brain.session import AdapterSet, LlamaSession
from appliance.errors import BrainError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lora_fixture import make_lora, read_base

pytestmark = pytest.mark.real

N_TOKENS = 24
SYSTEM = "You are a helpful assistant."
USER = "Tell me about the ocean."


@pytest.fixture(scope="module")
def base_gguf(smol_gguf: Path) -> Path:
    return smol_gguf


@pytest.fixture(scope="module")
def model(smol_model: SharedModel) -> SharedModel:
    return smol_model


@pytest.fixture(scope="module")
def loras(base_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Adapter files: `zero` (all-zero B), `x` and `y` (two different random adapters)."""
    d = tmp_path_factory.mktemp("lora")
    return {
        "zero": str(make_lora(base_gguf, d / "zero.gguf", zero=True)),
        "x": str(make_lora(base_gguf, d / "x.gguf", seed=1, magnitude=0.05)),
        "y": str(make_lora(base_gguf, d / "y.gguf", seed=2, magnitude=0.05)),
    }


@pytest.fixture(scope="module")
def session(model: SharedModel) -> Iterator[LlamaSession]:
    s = LlamaSession(model, n_ctx=512)
    yield s
    s.close()


@pytest.fixture(scope="module")
def session_b(model: SharedModel) -> Iterator[LlamaSession]:
    s = LlamaSession(model, n_ctx=512)
    yield s
    s.close()


@pytest.fixture(scope="module")
def prompt(model: SharedModel) -> list[int]:
    return (
        model.start_tokens()
        + model.format_message(Message("system", SYSTEM))
        + model.format_message(Message("user", USER))
        + model.assistant_header()
    )


def run(session: LlamaSession, prompt: list[int], adapters: AdapterSet) -> tuple[int, ...]:
    """The greedy continuation of `prompt` (token ids) under `adapters`."""
    session.set_adapters(adapters)
    session.eval_prompt(prompt)
    for _ in session.generate(max_tokens=N_TOKENS):
        pass
    assert session.tokens[: len(prompt)] == prompt
    return tuple(session.tokens[len(prompt) :])


@pytest.fixture(scope="module")
def base_out(session: LlamaSession, prompt: list[int]) -> tuple[int, ...]:
    out = run(session, prompt, ())
    assert len(out) == N_TOKENS, "the base model should not stop early on this prompt"
    return out


@pytest.fixture(scope="module")
def x_out(session: LlamaSession, prompt: list[int], loras: dict[str, str]) -> tuple[int, ...]:
    return run(session, prompt, ((loras["x"], 1.0),))


def test_zero_adapter_leaves_output_unchanged(
    session: LlamaSession, prompt: list[int], loras: dict[str, str], base_out: tuple[int, ...]
) -> None:
    assert run(session, prompt, ((loras["zero"], 1.0),)) == base_out
    assert session.adapters == ((loras["zero"], 1.0),)


def test_nonzero_adapter_changes_output(
    model: SharedModel,
    session: LlamaSession,
    prompt: list[int],
    loras: dict[str, str],
    base_out: tuple[int, ...],
    x_out: tuple[int, ...],
) -> None:
    adapter = model.adapter(loras["x"])
    assert adapter.path == loras["x"]
    assert adapter.handle
    assert x_out != base_out
    assert run(session, prompt, ((loras["x"], 1.0),)) == x_out  # deterministic under the adapter
    assert run(session, prompt, ((loras["y"], 1.0),)) not in (x_out, base_out)


def test_switching_back_restores_original_output(
    session: LlamaSession,
    prompt: list[int],
    loras: dict[str, str],
    base_out: tuple[int, ...],
    x_out: tuple[int, ...],
) -> None:
    for _ in range(2):
        assert run(session, prompt, ((loras["x"], 1.0),)) == x_out
        assert run(session, prompt, ()) == base_out
        assert session.adapters == ()


def test_two_sessions_keep_separate_adapters(
    session: LlamaSession,
    session_b: LlamaSession,
    prompt: list[int],
    loras: dict[str, str],
    base_out: tuple[int, ...],
    x_out: tuple[int, ...],
) -> None:
    a, b = session, session_b
    a.set_adapters(((loras["x"], 1.0),))
    b.set_adapters(())
    a.clear()
    b.clear()
    a.eval_prompt(prompt)
    b.eval_prompt(prompt)
    gen_a = a.generate(max_tokens=N_TOKENS)
    gen_b = b.generate(max_tokens=N_TOKENS)
    done_a = done_b = False
    while not (done_a and done_b):  # one token each in turn on the same model
        if not done_a:
            done_a = next(gen_a, None) is None
        if not done_b:
            done_b = next(gen_b, None) is None
    assert tuple(a.tokens[len(prompt) :]) == x_out
    assert tuple(b.tokens[len(prompt) :]) == base_out
    # and once more the other way round
    assert run(b, prompt, ((loras["x"], 1.0),)) == x_out
    assert run(a, prompt, ()) == base_out


def test_scale_zero_behaves_like_no_adapter(
    session: LlamaSession, prompt: list[int], loras: dict[str, str], base_out: tuple[int, ...]
) -> None:
    assert run(session, prompt, ((loras["x"], 0.0),)) == base_out


def test_same_adapter_path_loads_once(
    model: SharedModel, session: LlamaSession, session_b: LlamaSession, loras: dict[str, str]
) -> None:
    first = model.adapter(loras["y"])
    second = model.adapter(loras["y"])
    assert first is second
    session.set_adapters(((loras["y"], 1.0),))
    session_b.set_adapters(((loras["y"], 0.5),))
    assert model.adapter(loras["y"]) is first
    session.set_adapters(())
    session_b.set_adapters(())


def test_kv_state_never_reused_across_adapters(
    model: SharedModel,
    session: LlamaSession,
    prompt: list[int],
    loras: dict[str, str],
    base_out: tuple[int, ...],
    x_out: tuple[int, ...],
) -> None:
    x: AdapterSet = ((loras["x"], 1.0),)
    y: AdapterSet = ((loras["y"], 1.0),)
    cache = PrefixCache()
    system = model.start_tokens() + model.format_message(Message("system", SYSTEM))
    plain = cache.warm(session, "p", system, ())
    under_x = cache.warm(session, "p", system, x)
    assert sorted(cache.keys()) == sorted([("p", ()), ("p", x)])
    assert plain is not under_x
    assert plain.adapters == () and under_x.adapters == x
    assert bytes(plain.data) != bytes(under_x.data)  # attn_v changed: the V cache differs
    assert cache.get("p", y) is None
    with pytest.raises(KeyError):
        cache.activate(session, "p", y)

    # a state restored under its own adapter set continues exactly like a fresh evaluation
    session.set_adapters(y)
    cache.activate(session, "p", x)
    assert session.adapters == x
    assert session.tokens == system
    assert session.eval_prompt(prompt) == len(prompt) - len(system)
    for _ in session.generate(max_tokens=N_TOKENS):
        pass
    assert tuple(session.tokens[len(prompt) :]) == x_out
    cache.activate(session, "p", ())
    assert session.adapters == ()
    assert run(session, prompt, ()) == base_out

    # changing the adapter set drops the cache content; setting the same set keeps it
    session.eval_prompt(prompt)
    assert session.tokens == prompt
    session.set_adapters(())
    assert session.tokens == prompt
    session.set_adapters(y)
    assert session.tokens == []
    session.eval_prompt(prompt)
    session.set_adapters(((loras["y"], 0.5),))  # same adapter, other scale: another set
    assert session.tokens == []
    session.set_adapters(())


def test_missing_adapter_raises_brain_error(
    model: SharedModel, session: LlamaSession, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(BrainError, match="LoRA adapter not found") as info:
        model.adapter(str(missing))
    assert str(missing) in str(info.value)
    before = session.adapters
    with pytest.raises(BrainError, match="not found"):
        session.set_adapters(((str(missing), 1.0),))
    assert session.adapters == before


def test_non_lora_files_raise_brain_error(
    model: SharedModel, session: LlamaSession, base_gguf: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(np.random.default_rng(0).bytes(64 * 1024))
    with pytest.raises(BrainError, match="cannot load LoRA adapter"):
        model.adapter(str(junk))
    with pytest.raises(BrainError, match="cannot load LoRA adapter"):
        session.set_adapters(((str(junk), 1.0),))
    # a valid GGUF that is a model, not an adapter
    with pytest.raises(BrainError, match="cannot load LoRA adapter"):
        model.adapter(str(base_gguf))


def test_transposed_adapter_is_rejected(
    model: SharedModel, base_gguf: Path, tmp_path: Path
) -> None:
    """The fixture's orientation is the one llama.cpp checks: the transposed one is refused."""
    architecture, shapes = read_base(base_gguf, ("attn_q",))
    out = tmp_path / "transposed.gguf"
    writer = gguf.GGUFWriter(str(out), architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, 8.0)
    for name, (n_in, n_out) in shapes.items():
        writer.add_tensor(f"{name}.lora_a", np.zeros((n_in, 4), dtype=np.float32))
        writer.add_tensor(f"{name}.lora_b", np.zeros((4, n_out), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(BrainError, match="cannot load LoRA adapter"):
        model.adapter(str(out))
