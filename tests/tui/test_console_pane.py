"""The test console tab: a caller's line runs on the edited config in a worker thread and the log
shows the routing evidence, the handoff and who replied. The model tests share one engine."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select

from appliance.config import Config, template_text
from appliance.events import (
    AssistantReply,
    FactsRetrieved,
    HandoffCompleted,
    HandoffStarted,
    RoutingDecided,
    SentenceBlocked,
    SlotsUpdated,
)
from tui.app import VoiceboxApp
from tui.console_pane import ConsolePane, TurnView, scores_text
from tui.team import TeamLoader

if TYPE_CHECKING:
    from appliance.engine import Engine

PRICE = "Hi, how much does the premium package cost?"


class SharedLoader(TeamLoader):
    """One engine for every test of the session: the app's close() does not close it."""

    def __init__(self) -> None:
        super().__init__("smollm2-135m")
        self.gate = threading.Event()
        self.gate.set()

    def engine(self, cfg: Config) -> Engine:
        assert self.gate.wait(30), "the test never opened the gate"
        return super().engine(cfg)

    def close(self) -> None:
        pass

    def really_close(self) -> None:
        super().close()


@pytest.fixture(scope="session")
def shared_loader() -> Iterator[SharedLoader]:
    loader = SharedLoader()
    yield loader
    loader.really_close()


@pytest.fixture()
def config_path(tmp_path: Path) -> Path:
    """The starter team, with short replies (the tests check who speaks, not what)."""
    text = template_text("starter")
    assert "max_reply_tokens: 64" in text
    path = tmp_path / "voicebox.yaml"
    path.write_text(text.replace("max_reply_tokens: 64", "max_reply_tokens: 24"), "utf-8")
    return path


def console_app(config_path: Path, loader: TeamLoader | None = None) -> VoiceboxApp:
    tmp = config_path.parent
    app = VoiceboxApp(
        config_path, control=tmp / "c.sock", db=tmp / "voicebox.db", llm="smollm2-135m"
    )
    if loader is not None:
        app.team = loader
    return app


Scenario = Callable[[Pilot[None], ConsolePane], Coroutine[Any, Any, None]]


def run_console(app: VoiceboxApp, scenario: Scenario) -> None:
    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f5")
            await pilot.pause()
            assert app.focused is app.query_one("#console-input", Input)  # ready to type
            await scenario(pilot, app.query_one(ConsolePane))

    asyncio.run(main())


async def say(pilot: Pilot[None], text: str) -> None:
    pilot.app.query_one("#console-input", Input).value = text
    await pilot.press("enter")


async def settle(pilot: Pilot[None], pane: ConsolePane, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while pane.busy:
        assert time.monotonic() < deadline, "the console turn never finished"
        await pilot.pause(0.05)
    await pilot.pause()


def lines_with(pane: ConsolePane, needle: str) -> list[str]:
    return [ln for ln in pane.transcript if needle in ln]


# -- rendering (no model) -------------------------------------------------------------------------


def test_turn_view_renders_route_handoff_and_reply_compactly() -> None:
    view = TurnView()
    scores = {"stay": 0.41, "sales": 0.82, "support": 0.3, "german": -0.02}
    route = RoutingDecided(
        "c1",
        turn=1,
        assistant="frontdesk",
        outcome="handoff",
        target="sales",
        path="fast",
        reason="clear match",
        scores=scores,
        latency_ms=12.4,
    )
    assert [t.plain for t in view.render(route)] == [
        "  route handoff → sales · fast · 12 ms · sales 0.82  stay 0.41  support 0.30  german -0.02"
    ]
    refused = RoutingDecided(
        "c1",
        turn=2,
        assistant="sales",
        outcome="refused",
        target="frontdesk",
        path="llm",
        reason="ping-pong guard",
        scores={},
        latency_ms=80.0,
    )
    assert view.render(refused)[0].plain == (
        "  route refused → frontdesk · llm · 80 ms · ping-pong guard"
    )
    start = HandoffStarted(
        "c1",
        turn=1,
        from_assistant="frontdesk",
        to_assistant="sales",
        announcement="Let me connect you.",
        reason="r",
        path="fast",
        scores=scores,
        history="full",
    )
    done = HandoffCompleted("c1", turn=1, assistant="sales", switch_ms=3.21, carryover_tokens=90)
    slots = SlotsUpdated("c1", turn=1, slots={"name": "Maria", "need": "quote"}, changed=["need"])
    reply = AssistantReply(
        "c1", turn=1, assistant="sales", text="Premium is 199.", first_token_ms=95.2, total_ms=640
    )
    got = [t.plain for e in (start, done, slots, reply) for t in view.render(e)]
    assert got == [
        "frontdesk › Let me connect you.  (announcement)",
        "  ↪ handoff frontdesk → sales (fast) · switch 3.2 ms · carry-over 90 tokens",
        "  slots: need=quote  (known: name, need)",
        "sales › Premium is 199.  (first token 95 ms, total 640 ms)",
    ]
    assert scores_text({f"r{i}": i / 10 for i in range(7)}, limit=2) == "r6 0.60  r5 0.50  +5"


def test_an_invalid_config_is_refused_with_its_error(config_path: Path) -> None:
    app = console_app(config_path)
    app.doc.data["assistants"][0]["handoffs"][0]["target"] = "nobody"

    async def scenario(pilot: Pilot[None], pane: ConsolePane) -> None:
        await say(pilot, PRICE)
        await pilot.pause()
        assert not pane.busy and pane.conversation is None
        assert lines_with(pane, "cannot start: the configuration has")
        assert any("nobody" in ln for ln in lines_with(pane, "•"))
        assert pilot.app.query_one("#console-input", Input).value == PRICE  # not lost
        assert not app.team.loaded

    run_console(app, scenario)


# -- the real model -------------------------------------------------------------------------------


@pytest.mark.real
def test_a_price_question_hands_off_to_sales_on_the_fast_path(
    config_path: Path, shared_loader: SharedLoader
) -> None:
    app = console_app(config_path, shared_loader)

    async def scenario(pilot: Pilot[None], pane: ConsolePane) -> None:
        assert pilot.app.query_one("#console-assistant", Select).value == "frontdesk"
        first_use = not shared_loader.loaded
        await say(pilot, PRICE)
        await settle(pilot, pane)
        assert bool(lines_with(pane, "loading the team (model, profiles)...")) == first_use
        assert lines_with(pane, "frontdesk › Thank you for calling")  # the greeting
        assert lines_with(pane, f"you › {PRICE}")
        (route,) = lines_with(pane, "route ")
        assert "route handoff → sales · fast ·" in route
        assert re.search(r"· sales [01]\.\d\d  \w+ -?[01]\.\d\d", route)  # scores, best first
        assert "stay " in route
        assert lines_with(pane, "frontdesk › Let me connect you with our sales assistant.")
        (handoff,) = lines_with(pane, "↪ handoff")
        assert "frontdesk → sales (fast) · switch " in handoff
        replies = lines_with(pane, "sales › ")
        assert replies and "first token" in replies[-1]
        assert pane.conversation is not None and pane.conversation.current == "sales"

    run_console(app, scenario)


@pytest.mark.real
def test_a_second_line_while_a_turn_runs_does_not_start_another(
    config_path: Path, shared_loader: SharedLoader
) -> None:
    app = console_app(config_path, shared_loader)

    async def scenario(pilot: Pilot[None], pane: ConsolePane) -> None:
        shared_loader.gate.clear()  # hold the turn in the worker until the second line is sent
        try:
            await say(pilot, "Hello, good morning.")
            assert pane.busy
            await say(pilot, "Where is your office?")
            await pilot.press("ctrl+n")
        finally:
            shared_loader.gate.set()
        await settle(pilot, pane)
        assert len(lines_with(pane, "still working on the last line")) == 2
        assert lines_with(pane, "you › ") == ["you › Hello, good morning."]
        assert pane.conversation is not None and pane.conversation.turn == 1
        assert pilot.app.query_one("#console-input", Input).value == "Where is your office?"

    run_console(app, scenario)


@pytest.mark.real
def test_new_conversation_uses_the_edited_config_and_the_chosen_assistant(
    config_path: Path, shared_loader: SharedLoader
) -> None:
    app = console_app(config_path, shared_loader)

    async def scenario(pilot: Pilot[None], pane: ConsolePane) -> None:
        await pilot.press("ctrl+n")
        await settle(pilot, pane)
        assert lines_with(pane, "frontdesk › Thank you for calling")
        app.doc.data["assistants"][0]["greeting"] = "Edited desk, hello."
        app.changed()
        await pilot.pause()
        assert lines_with(pane, "configuration edited: Ctrl+N starts a conversation on it")
        await pilot.press("ctrl+n")
        await settle(pilot, pane)
        assert pane.transcript[-1] == "frontdesk › Edited desk, hello.  (greeting)"
        pilot.app.query_one("#console-assistant", Select).value = "sales"  # starts over
        await pilot.pause()
        await settle(pilot, pane)
        assert pane.transcript[-1] == "sales › Hi, this is sales. How can I help?  (greeting)"
        assert pane.conversation is not None and pane.conversation.current == "sales"
        assert len(lines_with(pane, "── new conversation with")) == 3

    run_console(app, scenario)


@pytest.mark.real
def test_quitting_during_a_turn_lets_the_turn_leave_the_model_first(
    config_path: Path, shared_loader: SharedLoader
) -> None:
    app = console_app(config_path, shared_loader)
    seen: list[ConsolePane] = []

    async def scenario(pilot: Pilot[None], pane: ConsolePane) -> None:
        seen.append(pane)
        shared_loader.gate.clear()
        threading.Timer(0.3, shared_loader.gate.set).start()
        await say(pilot, "Where is your office?")
        assert pane.busy
        await pilot.press("ctrl+q")

    run_console(app, scenario)
    assert seen[0]._idle.is_set()  # the app closed the team only after the turn was over


def test_turn_view_shows_the_facts_a_reply_used_and_the_sentence_kept_back() -> None:
    view = TurnView()
    facts = FactsRetrieved(
        "c1", turn=1, assistant="sales", topics=["Premium package", "payment"], scores=[0.81, 0.4]
    )
    none = FactsRetrieved("c1", turn=2, assistant="sales", topics=[], scores=[])
    blocked = SentenceBlocked(
        "c1",
        turn=2,
        assistant="sales",
        sentence="Students get 10% off.",
        claims=["number 10", "policy discount"],
    )
    judged = SentenceBlocked(
        "c1",
        turn=3,
        assistant="sales",
        sentence="It has five bedrooms.",
        claims=["number 5"],
        instead="house on Elm Street",
    )
    injection = RoutingDecided(
        "c1",
        turn=3,
        assistant="sales",
        outcome="refused",
        target=None,
        path="guard",
        reason="prompt injection",
        scores={},
        latency_ms=0.2,
    )
    got = [t.plain for e in (facts, none, blocked, judged, injection) for t in view.render(e)]
    assert got == [
        "  facts: Premium package 0.81, payment 0.40",
        "  facts: none for this question",
        "  ✗ not said (no fact for number 10, policy discount): Students get 10% off.",
        "  ✗ not said (no fact for number 5): It has five bedrooms.",
        "    said instead: the fact 'house on Elm Street'",
        "  route refused · guard · 0.2 ms · prompt injection",
    ]
