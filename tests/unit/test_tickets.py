"""tickets: a support conversation opens one ticket in a real SQLite store, the caller hears the
store's number, later details update it, and its notices are queued with it (appliance/tools/
tickets.py, appliance/store/desk.py). The engine runs on fakes (tests/fakes)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from fakes import ScriptedBrain
from fakes.engine import fake_engine

from appliance.config import Config, dump_config, parse_config
from appliance.errors import ConfigError, StoreError
from appliance.store import SCHEMA_VERSION, Store
from appliance.tools import tickets
from appliance.tools.outbox import retry_after

PROBLEM = "My laptop screen stays black."
NAME = "This is Ann Lee."
SLOTS = {
    "laptop screen": {"need": "laptop screen stays black"},
    "Ann Lee": {"name": "Ann Lee"},
    "server is down": {"need": "server down", "urgency": "high"},
}


def _cfg(tools: list[str], integrations: dict[str, object] | None = None) -> Config:
    return parse_config(
        {
            "team": {"entry": "support"},
            "assistants": [
                {"name": "support", "title": "Support", "system_prompt": "You help.",
                 "tools": tools},
            ],
            "integrations": integrations or {},
        }
    )  # fmt: skip


def _talk(cfg: Config, store: Store | None, said: list[str], caller: str = "") -> list[str]:
    brain = ScriptedBrain(["I'm sorry to hear that."] * len(said), slots=SLOTS)
    engine = fake_engine(cfg, brain, listeners=[store.record] if store else [])
    engine.desk = store
    conv = engine.new_conversation(channel="text", caller=caller)
    conv.start()
    replies = [conv.handle(s).reply for s in said]
    conv.end()
    return replies


def test_the_caller_hears_the_number_the_store_gave_the_ticket(tmp_path: Path) -> None:
    store = Store(tmp_path / "voicebox.db")
    cfg = _cfg(["tickets"])
    first = _talk(cfg, store, [PROBLEM, NAME], caller="<sip:5550142@pbx>")
    assert first[0] == (
        "I'm sorry to hear that. I've opened ticket number 1 0 0 1 for you; our support team "
        "will call you back."
    )
    assert first[1] == "I'm sorry to hear that."  # told once
    (t,) = store.tickets()
    assert (t["number"], t["who"], t["callback"], t["summary"], t["urgency"]) == (
        1001, "Ann Lee", "5550142", "laptop screen stays black", "normal",
    )  # fmt: skip
    second = _talk(cfg, store, ["The server is down, nobody can work!"])
    assert "ticket number 1 0 0 2" in second[0]
    assert [t["number"] for t in store.tickets()] == [1002, 1001]
    assert store.tickets()[0]["urgency"] == "urgent"
    # the transcript keeps what the caller heard, number included
    said = store.query("SELECT text FROM turns WHERE role='assistant' AND turn=1")
    assert sum("1 0 0 1" in r["text"] for r in said) == 1
    store.close()


def test_no_tool_or_no_store_no_ticket_and_no_number(tmp_path: Path) -> None:
    store = Store(tmp_path / "voicebox.db")
    assert "ticket" not in _talk(_cfg(["take_message"]), store, [PROBLEM])[0]
    assert store.tickets() == []
    assert "ticket" not in _talk(_cfg(["tickets"]), None, [PROBLEM])[0]
    store.close()


def test_a_store_that_cannot_write_the_ticket_gives_no_number(tmp_path: Path) -> None:
    class Broken:
        def open_ticket(self, cid: str, **kw: object) -> int:
            raise StoreError("disk full")

    brain = ScriptedBrain(["I'm sorry to hear that."], slots=SLOTS)
    engine = fake_engine(_cfg(["tickets"]), brain)
    engine.desk = Broken()
    conv = engine.new_conversation(channel="text")
    conv.start()
    r = conv.handle(PROBLEM)
    assert r.reply == "I'm sorry to hear that." and conv.ticket is None


def test_notices_are_queued_with_the_ticket_and_due_when_the_call_ends(tmp_path: Path) -> None:
    store = Store(tmp_path / "voicebox.db")
    cfg = _cfg(
        ["tickets"],
        {
            "smtp": {"host": "127.0.0.1", "sender": "box@office.example",
                     "to": ["support@office.example"]},
            "webhooks": [{"name": "crm", "url": "http://127.0.0.1:9/x"}],
        },
    )  # fmt: skip
    brain = ScriptedBrain(["I'm sorry to hear that."] * 2, slots=SLOTS)
    engine = fake_engine(cfg, brain, listeners=[store.record])
    engine.desk = store
    conv = engine.new_conversation(channel="text")
    conv.start()
    conv.handle(PROBLEM)
    now = time.time()
    assert store.outbox_due(now) == []  # held back while the caller may add a name
    (t,) = store.tickets()
    assert t["notices"] == {"smtp": "queued", "webhook:crm": "queued"}
    conv.handle(NAME)  # an update queues nothing new
    conv.end()
    due = store.outbox_due(time.time())
    assert sorted(r["target"] for r in due) == ["smtp", "webhook:crm"]
    assert {r["record"]["who"] for r in due} == {"Ann Lee"}  # read when it goes out
    store.outbox_done(due[0]["id"], error="refused", retry_at=time.time() + 60)
    store.outbox_done(due[1]["id"])
    assert len(store.outbox_due(time.time())) == 0 and store.outbox_pending() == 1
    (t,) = store.tickets()
    assert sorted(t["notices"].values()) == ["delivered", "failing: refused"]
    store.close()


def test_retry_backs_off_to_an_hour() -> None:
    assert [retry_after(n) for n in (1, 2, 3, 4)] == [30.0, 60.0, 120.0, 240.0]
    assert retry_after(20) == 3600.0


@pytest.mark.parametrize(
    ("slot", "words", "expected"),
    [
        ("", "The printer jams now and then.", "normal"),
        ("high", "", "urgent"),
        ("", "Our server is down since this morning", "urgent"),
        ("", "Das ist dringend!", "urgent"),
        ("low", "it would be nice to fix it", "normal"),
    ],
)
def test_urgency(slot: str, words: str, expected: str) -> None:
    assert tickets.urgency(slot, words) == expected


def test_a_schema_1_store_gets_the_tickets_and_keeps_its_calls(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    old = sqlite3.connect(db)
    from appliance.store import SCHEMA

    old.executescript(SCHEMA)
    old.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    old.execute(
        "INSERT INTO conversations(id, channel, entry_assistant, started_at) "
        "VALUES ('old1', 'sip', 'frontdesk', 1.0)"
    )
    old.commit()
    old.close()
    store = Store(db)
    assert store.schema_version == SCHEMA_VERSION
    assert store.query("SELECT id FROM conversations") == [{"id": "old1"}]
    n = store.open_ticket(
        "old1", assistant="support", who="", callback="", summary="x", urgency="normal",
        targets=[],
    )  # fmt: skip
    assert n == 1001
    assert store.conversation("old1")["ticket"]["number"] == 1001
    store.close()


def test_integrations_config_keeps_secrets_and_rejects_bad_entries() -> None:
    smtp = {
        "host": "mail.office.lan", "port": 587, "starttls": True, "username": "box",
        "password": "s3cret", "sender": "box@office.example", "to": ["it@office.example"],
    }  # fmt: skip
    hook = {"name": "crm", "url": "http://192.168.1.20:8080/in", "secret": "k3y"}
    cfg = _cfg(["tickets"], {"smtp": smtp, "webhooks": [hook]})
    assert "s3cret" not in repr(cfg) and "k3y" not in repr(cfg)
    text = dump_config(cfg)
    assert "password: s3cret" in text and "secret: k3y" in text
    assert cfg.integrations.targets("ticket") == ["smtp", "webhook:crm"]
    for bad, said in (
        ({"webhooks": [hook, hook]}, "duplicate webhook names"),
        ({"smtp": {**smtp, "to": ["nobody"]}}, "not a mail address: nobody"),
        ({"webhooks": [{**hook, "url": "ftp://x"}]}, "integrations.webhooks[0] (crm).url"),
    ):
        with pytest.raises(ConfigError) as err:
            _cfg(["tickets"], bad)
        assert any(said in p for p in err.value.problems), err.value.problems


def test_on_a_handoff_support_opens_the_ticket_for_what_the_front_desk_heard(
    tmp_path: Path,
) -> None:
    cfg = parse_config(
        {
            "team": {"entry": "frontdesk"},
            "assistants": [
                {"name": "frontdesk", "title": "Front desk", "system_prompt": "You route.",
                 "handoffs": [{"target": "support", "condition": "the caller has a problem",
                               "examples": [PROBLEM]}]},
                {"name": "support", "title": "Support", "system_prompt": "You help.",
                 "tools": ["tickets"]},
            ],
        }
    )  # fmt: skip
    store = Store(tmp_path / "voicebox.db")
    brain = ScriptedBrain(
        ["Let me see.", "Support here, sorry to hear that."],
        choices={"laptop screen": "support"},
        slots=SLOTS,
    )
    engine = fake_engine(cfg, brain, listeners=[store.record])
    engine.desk = store
    conv = engine.new_conversation(channel="text")
    conv.start()
    r = conv.handle(PROBLEM)
    assert r.assistant == "support"
    assert r.reply.endswith("I've opened ticket number 1 0 0 1 for you; our support team will "
                            "call you back.")  # fmt: skip
    assert store.tickets()[0]["assistant"] == "support"
    store.close()


def test_sales_records_one_lead_and_queues_it_for_the_crm(tmp_path: Path) -> None:
    cfg = parse_config(
        {
            "team": {"entry": "sales"},
            "assistants": [{"name": "sales", "title": "Sales", "system_prompt": "You sell.",
                            "tools": ["leads"]}],
            "integrations": {"webhooks": [{"name": "crm", "url": "http://127.0.0.1:9/in"}]},
        }
    )  # fmt: skip
    store = Store(tmp_path / "voicebox.db")
    brain = ScriptedBrain(
        ["Happy to help."] * 2,
        slots={
            "ten phones": {"need": "ten desk phones", "budget": "about 2000 dollars"},
            "Initech": {"name": "Bo Ray", "company": "Initech"},
        },
    )
    engine = fake_engine(cfg, brain, listeners=[store.record])
    engine.desk = store
    conv = engine.new_conversation(channel="text", caller="<sip:5550199@pbx>")
    conv.start()
    first = conv.handle("We need ten phones for the office, about 2000 dollars.")
    assert first.reply == "Happy to help."
    conv.handle("I'm Bo Ray from Initech.")
    conv.end()
    (lead,) = store.leads()
    assert {k: lead[k] for k in ("who", "company", "callback", "need", "budget")} == {
        "who": "Bo Ray", "company": "Initech", "callback": "5550199", "need": "ten desk phones",
        "budget": "about 2000 dollars",
    }  # fmt: skip
    assert lead["notices"] == {"webhook:crm": "queued"}
    (due,) = store.outbox_due(time.time())
    assert due["kind"] == "lead" and due["record"]["company"] == "Initech"
    assert store.tickets() == []
    store.close()


def test_a_reply_cut_off_by_the_caller_leaves_the_number_for_the_next_one(tmp_path: Path) -> None:
    store = Store(tmp_path / "voicebox.db")
    brain = ScriptedBrain(["I'm sorry to hear that.", "Let me check."], slots=SLOTS)
    engine = fake_engine(_cfg(["tickets"]), brain, listeners=[store.record])
    engine.desk = store
    conv = engine.new_conversation(channel="text")
    conv.start()
    conv.cancel.set()  # the caller spoke over the reply: what is left of it is not said
    first = conv.handle(PROBLEM)
    assert "ticket" not in first.reply and conv.ticket == 1001
    conv.cancel.clear()
    assert conv.handle("Hello?").reply.endswith("ticket number 1 0 0 1 for you; our support "
                                                "team will call you back.")  # fmt: skip
    store.close()
