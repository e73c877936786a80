"""Shared fixtures: real models (installed by `make test` from the manifest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.brain.embeddings import Embedder
from appliance.brain.llm import SharedModel
from appliance.config import Config, load_config
from appliance.errors import ModelError
from appliance.models import model_path


def _require(name: str) -> None:
    try:
        model_path(name)
    except ModelError as err:
        pytest.fail(f"{err} (make test installs the default models)")


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    _require("minilm-l6")
    return Embedder(model_path("minilm-l6"))


@pytest.fixture()
def starter() -> Config:
    return load_config()


@pytest.fixture(scope="session")
def smol_gguf() -> Path:
    """The tiny SmolLM2 GGUF (fast brain tests)."""
    _require("smollm2-135m")
    return model_path("smollm2-135m") / "model.gguf"


@pytest.fixture(scope="session")
def smol_model(smol_gguf: Path) -> Iterator[SharedModel]:
    """SmolLM2 loaded once for every brain test of the run."""
    m = SharedModel(smol_gguf, threads=2)
    yield m
    m.close()


@pytest.fixture(scope="session")
def smol_engine() -> Iterator[object]:
    """The starter team on the tiny SmolLM2 model: real code paths, fast."""
    from appliance.engine import Engine

    _require("smollm2-135m")
    engine = Engine(load_config(), llm="smollm2-135m")
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def speech_models() -> object:
    """Whisper, Piper and the starter team's fixed phrases, loaded once."""
    from appliance.speech.voices import SpeechModels

    for name in ("whisper-tiny.en", "whisper-base", "piper-joe"):
        _require(name)
    speech = SpeechModels(load_config())
    speech.warm()
    return speech


@pytest.fixture(scope="session")
def qwen_engine() -> Iterator[object]:
    """The starter team on the default 1.5B model, loaded once for the voice tests."""
    from appliance.engine import Engine

    _require("qwen2.5-coder-1.5b")
    engine = Engine(load_config())
    yield engine
    engine.close()
