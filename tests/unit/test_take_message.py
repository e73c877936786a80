"""take_message: when a message for the team is written, with what, and how the store keeps it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from appliance.config import Assistant
from appliance.events import ConversationStarted, MessageTaken
from appliance.store import Store
from appliance.tools.messages import caller_number, take

WITH = Assistant(name="support", title="Support", system_prompt="x", tools=["take_message"])
WITHOUT = Assistant(name="frontdesk", title="Front desk", system_prompt="x", tools=["handoff"])


@dataclass
class _Line:
    role: str
    text: str


@dataclass
class _Conv:
    id: str = "c1"
    caller: str = ""
    slots: dict[str, str] = field(default_factory=dict)
    message: MessageTaken | None = None
    lines: list[_Line] = field(default_factory=list)

    def step(self, assistant: Assistant, said: str = "") -> MessageTaken | None:
        msg = take(self, assistant, said)
        if msg is not None:
            self.message = msg
        return msg


def test_caller_number_from_a_sip_caller_id() -> None:
    assert caller_number('"Ann Lee" <sip:+4930123456@pbx.lan>;tag=x') == "+4930123456"
    assert caller_number("<sip:201@127.0.0.1>") == "201"
    assert caller_number("<sip:alice@127.0.0.1>") == ""
    assert caller_number("") == ""


def test_a_need_in_an_assistant_with_the_tool_writes_the_message_at_once() -> None:
    conv = _Conv(caller="<sip:5550142@pbx>")
    assert conv.step(WITH) is None  # nothing stated yet
    conv.slots = {"name": "Ann Lee"}
    assert conv.step(WITH) is None  # a name alone is no request
    conv.slots["need"] = "printer prints blank pages"
    msg = conv.step(WITH)
    assert msg is not None
    assert (msg.assistant, msg.who, msg.callback, msg.what) == (
        "support",
        "Ann Lee",
        "5550142",  # the SIP caller id while no number was said
        "printer prints blank pages",
    )
    assert conv.step(WITH) is None  # nothing new: no second event
    conv.slots["callback"] = "5550199"
    later = conv.step(WITHOUT)  # details given later still reach the message
    assert later is not None and later.callback == "5550199" and later.assistant == "support"


def test_no_tool_no_promise_no_message() -> None:
    conv = _Conv(slots={"need": "opening hours"})
    assert conv.step(WITHOUT, "We are open nine to five.") is None


def test_a_callback_promise_always_leaves_a_message_with_the_callers_words() -> None:
    conv = _Conv(lines=[_Line("caller", "Hi, it's Bob."), _Line("caller", "The heating is off.")])
    msg = conv.step(WITHOUT, "Thanks, someone will call you back soon.")
    assert msg is not None
    assert msg.what == "Hi, it's Bob. / The heating is off." and msg.assistant == "frontdesk"
    conv2 = _Conv(lines=[_Line("caller", "Die Heizung ist aus.")])
    assert conv2.step(WITHOUT, "Ich gebe das weiter; jemand ruft Sie morgen zurück.") is not None


def test_the_store_keeps_one_row_per_conversation(tmp_path: Path) -> None:
    db = tmp_path / "voicebox.db"
    store = Store(db)
    store.record(ConversationStarted("c1", channel="sip", assistant="support", caller="x"))
    first = MessageTaken("c1", assistant="support", who="", callback="201", what="fix it", t=100.0)
    store.record(first)
    store.record(
        MessageTaken("c1", assistant="sales", who="Ann", callback="5550142", what="fix it", t=105.0)
    )
    rows = store.messages()
    assert len(rows) == 1
    row = rows[0]
    assert (row["conversation_id"], row["assistant"], row["who"], row["callback"]) == (
        "c1",
        "support",  # the assistant that took it
        "Ann",
        "5550142",
    )
    assert (row["created_at"], row["updated_at"]) == (100.0, 105.0)
    assert store.conversation("c1")["message"]["what"] == "fix it"
    assert store.messages(since=101.0) == []
    store.close()
    with sqlite3.connect(db) as raw:  # the file itself, as the TUI reads it
        assert raw.execute("SELECT COUNT(*) FROM messages").fetchone() == (1,)
