"""A brain without a model: replies from a script, router checks and slot extraction answered
from tables. Implements `ReplyBrain` (appliance/brain/parts.py).

A reply may `hold` before its first word for a while of the call's stepped clock (`clock`, set
by the driver to the loop's `t_ms`): the "slow first token" that makes the loop say "one
moment". A hold ends early when the turn is cancelled (barge-in), like a real generation.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from appliance.brain.parts import AdapterSet, Completion, Message

if TYPE_CHECKING:
    from appliance.brain.session import LlamaSession

DEFAULT_REPLY = "Okay."


@dataclass(frozen=True)
class Reply:
    text: str
    hold_ms: int = 0  # of the stepped clock, before the first word


@dataclass
class ReplyCall:
    """One reply the conversation asked for."""

    key: str  # the profile prefix: "profile:<assistant>:<hash>"
    messages: list[Message]
    text: str

    @property
    def assistant(self) -> str:
        return self.key.split(":")[1]


class FakeSession:
    """Stands in for a llama context: the fake brain only hands it around."""

    def __init__(self) -> None:
        self.cleared = 0

    def clear(self) -> None:
        self.cleared += 1


class FakePrefixes:
    """`PrefixStore`: the keys warmed, with the text they were warmed with."""

    def __init__(self) -> None:
        self._states: dict[tuple[str, AdapterSet], str] = {}
        self.activated: list[str] = []

    def warm(self, key: str, text: str, adapters: AdapterSet = ()) -> None:
        self._states[(key, adapters)] = text

    def get(self, key: str, adapters: AdapterSet = ()) -> object | None:
        return self._states.get((key, adapters))

    def activate(self, session: LlamaSession, key: str, adapters: AdapterSet = ()) -> float:
        if (key, adapters) not in self._states:
            raise KeyError(f"no cached prefix for {key!r} under adapters {adapters!r}")
        self.activated.append(key)
        return 0.0

    def keys(self) -> list[tuple[str, AdapterSet]]:
        return list(self._states)

    def discard(self, key: str, adapters: AdapterSet = ()) -> None:
        self._states.pop((key, adapters), None)

    @property
    def total_bytes(self) -> int:
        return sum(len(t) for t in self._states.values())


class ScriptedBrain:
    def __init__(
        self,
        replies: Iterable[str | Reply] = (),
        *,
        choices: Mapping[str, str] | None = None,
        slots: Mapping[str, Mapping[str, str]] | None = None,
        summary: str = "The caller asked for help.",
        n_ctx: int = 2048,
    ) -> None:
        """`choices`: a phrase in the caller's words -> the router LLM's option (else stay);
        `slots`: a phrase -> the slot values extraction returns (else none)."""
        self.replies: deque[Reply] = deque(r if isinstance(r, Reply) else Reply(r) for r in replies)
        self.choices = dict(choices or {})
        self.slot_table = {k: dict(v) for k, v in (slots or {}).items()}
        self.summary = summary
        self._n_ctx = n_ctx
        self._prefixes = FakePrefixes()
        self.clock: Callable[[], int] = lambda: 0
        self.reply_calls: list[ReplyCall] = []
        self.choose_calls: list[tuple[str, list[str], str]] = []
        self.odds: dict[str, dict[str, float]] = {}  # phrase -> the probabilities choose() gives
        self.utility_calls: list[str] = []  # keys
        self.sessions = 0
        self.closed = False
        self._hold = threading.Condition()
        self._holding: tuple[int, threading.Event | None] | None = None

    # -- ReplyBrain ---------------------------------------------------------------------------

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def model(self) -> object:
        return None

    @property
    def prefixes(self) -> FakePrefixes:
        return self._prefixes

    def acquire(self) -> LlamaSession:
        self.sessions += 1
        return cast("LlamaSession", FakeSession())

    def release(self, session: LlamaSession) -> None:
        pass

    def messages_tokens(self, messages: list[Message]) -> list[int]:
        return [0] * sum(len(m.content.split()) + 4 for m in messages)

    def warm_profile(self, key: str, system_text: str, adapters: AdapterSet = ()) -> None:
        self._prefixes.warm(key, system_text, adapters)

    def warm_utility(self, key: str, system_text: str) -> None:
        self._prefixes.warm(key, system_text)

    def utility(
        self, key: str, user_text: str, *, grammar: str | None, max_tokens: int
    ) -> Completion:
        if self._prefixes.get(key) is None:
            raise KeyError(f"prefix {key!r} was not warmed")
        self.utility_calls.append(key)
        if key.startswith("slots"):
            found: dict[str, str] = {}
            for phrase, values in self.slot_table.items():
                if phrase.lower() in user_text.lower():
                    found.update(values)
            text = json.dumps(found)
        else:
            text = self.summary
        return Completion(text, 0, 0, 0.0)

    def choose(self, key: str, user_text: str, options: list[str]) -> tuple[str, dict[str, float]]:
        if self._prefixes.get(key) is None:
            raise KeyError(f"prefix {key!r} was not warmed")
        for phrase, probs in self.odds.items():  # the LLM check's probabilities, as given
            if phrase.lower() in user_text.lower():
                shown = {o: probs.get(o, 0.0) for o in options}
                best = max(shown, key=lambda o: shown[o])
                self.choose_calls.append((key, list(options), best))
                return best, shown
        picked = options[0]
        for phrase, option in self.choices.items():
            if phrase.lower() in user_text.lower() and option in options:
                picked = option
                break
        self.choose_calls.append((key, list(options), picked))
        return picked, {o: float(o == picked) for o in options}

    def stream_reply(
        self,
        session: LlamaSession,
        key: str,
        adapters: AdapterSet,
        messages: list[Message],
        *,
        max_tokens: int,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        if self._prefixes.get(key, adapters) is None:
            raise KeyError(f"prefix {key!r} was not warmed")
        reply = self.replies.popleft() if self.replies else Reply(DEFAULT_REPLY)
        self.reply_calls.append(ReplyCall(key, list(messages), reply.text))
        if reply.hold_ms:
            self._wait(self.clock() + reply.hold_ms, cancel)
        words = reply.text.split(" ")
        for i, w in enumerate(words):
            if cancel is not None and cancel.is_set():
                return
            yield w + (" " if i < len(words) - 1 else "")

    def close(self) -> None:
        self.closed = True

    # -- the stepped clock --------------------------------------------------------------------

    def _wait(self, until_ms: int, cancel: threading.Event | None) -> None:
        with self._hold:
            self._holding = (until_ms, cancel)
            try:
                while not self._released():
                    self._hold.wait(timeout=0.002)
            finally:
                self._holding = None

    def _released(self) -> bool:
        assert self._holding is not None
        until_ms, cancel = self._holding
        return self.clock() >= until_ms or (cancel is not None and cancel.is_set())

    def holding(self) -> bool:
        """A reply is parked until a later call time (it cannot move before the next step)."""
        with self._hold:
            return self._holding is not None and not self._released()

    def tick(self) -> None:
        """The clock moved: a parked reply looks again at once."""
        with self._hold:
            self._hold.notify_all()
