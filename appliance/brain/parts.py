"""What an engine is built from, without loading anything: the light value types of the brain
and the protocols an embedder and a brain satisfy.

`Embedder` (MiniLM over onnxruntime) and `Brain` (llama.cpp) are the real parts; tests and
tools may pass anything with the same methods to `Engine.from_parts`. Importing this module
loads neither onnxruntime nor llama_cpp.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from appliance.brain.session import LlamaSession

_LOGGER = logging.getLogger(__name__)

# ((path, scale), ...): the LoRA adapters a KV state was computed under
AdapterSet = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Message:
    """One chat message in ChatML terms."""

    role: str  # system | user | assistant
    content: str


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    evaluated_tokens: int
    ms: float


class TextEmbedder(Protocol):
    """Sentence vectors for the routing fast path: L2-normalised rows, so a dot product is the
    cosine similarity; shape (len(texts), dim), also for an empty list."""

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]: ...


class PrefixStore(Protocol):
    """The cached system-prompt states an engine warms, activates and prunes."""

    def get(self, key: str, adapters: AdapterSet = ()) -> object | None: ...

    def activate(self, session: LlamaSession, key: str, adapters: AdapterSet = ()) -> float: ...

    def keys(self) -> list[tuple[str, AdapterSet]]: ...

    def discard(self, key: str, adapters: AdapterSet = ()) -> None: ...

    @property
    def total_bytes(self) -> int: ...


class UtilityBrain(Protocol):
    """The short cached prompts the router and the slot extractor run (a shared session)."""

    def warm_utility(self, key: str, system_text: str) -> None: ...

    def utility(
        self, key: str, user_text: str, *, grammar: str | None, max_tokens: int
    ) -> Completion: ...

    def choose(
        self, key: str, user_text: str, options: list[str]
    ) -> tuple[str, dict[str, float]]: ...


class ReplyBrain(UtilityBrain, Protocol):
    """Everything an engine and its conversations ask of the brain (`Brain` is the real one)."""

    @property
    def n_ctx(self) -> int: ...

    @property
    def model(self) -> object: ...

    @property
    def prefixes(self) -> PrefixStore: ...

    def acquire(self) -> LlamaSession: ...

    def release(self, session: LlamaSession) -> None: ...

    def messages_tokens(self, messages: list[Message]) -> list[int]: ...

    def warm_profile(self, key: str, system_text: str, adapters: AdapterSet = ()) -> None: ...

    def stream_reply(
        self,
        session: LlamaSession,
        key: str,
        adapters: AdapterSet,
        messages: list[Message],
        *,
        max_tokens: int,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]: ...

    def close(self) -> None: ...
