"""New-ticket notices reach real servers on loopback: a mail through an SMTP server (aiosmtpd,
with a login) and a signed JSON POST to an HTTP receiver; a receiver that is down gets the
notice once it is back, also after the box was killed with the notice still queued; and
`voicebox integrations check` tells which integration answers."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from appliance.config import Config, parse_config
from appliance.events import ConversationEnded, ConversationStarted
from appliance.store import Store
from appliance.store.desk import SETTLE_S
from appliance.tools import notify
from appliance.tools.outbox import Courier

ROOT = Path(__file__).resolve().parents[2]
SECRET = "k3y-for-the-crm"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Mailbox:
    def __init__(self) -> None:
        self.mails: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


def _auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"box", b"pw")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Mailbox]]:
    box = _Mailbox()
    port = _free_port()
    ctl = Controller(
        box, hostname="127.0.0.1", port=port, authenticator=_auth, auth_require_tls=False
    )
    ctl.start()
    yield port, box
    ctl.stop()


class _Receiver:
    """An HTTP receiver on a fixed port: start() / stop() as the office's CRM comes and goes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.got: list[tuple[dict[str, str], bytes]] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _cfg(smtp_port: int, hook_port: int, password: str = "pw") -> Config:
    return parse_config(
        {
            "team": {"entry": "support"},
            "assistants": [
                {"name": "support", "title": "Support", "system_prompt": "x", "tools": ["tickets"]}
            ],
            "integrations": {
                "smtp": {"host": "127.0.0.1", "port": smtp_port, "username": "box",
                         "password": password, "sender": "voicebox@office.example",
                         "to": ["support@office.example"]},
                "webhooks": [{"name": "crm", "url": f"http://127.0.0.1:{hook_port}/tickets",
                              "secret": SECRET}],
            },
        }
    )  # fmt: skip


def _ticket(store: Store, cfg: Config, cid: str = "call1") -> int:
    store.record(ConversationStarted(cid, channel="sip", assistant="support", caller="201"))
    number = store.open_ticket(
        cid, assistant="support", who="Ann Lee", callback="5550142",
        summary="laptop screen stays black", urgency="urgent",
        targets=cfg.integrations.targets("ticket"),
    )  # fmt: skip
    store.record(ConversationEnded(cid, reason="caller hung up", assistant="support", turns=3))
    return number


def test_the_ticket_is_mailed_and_posted_signed(tmp_path: Path, smtp: Any) -> None:
    smtp_port, mailbox = smtp
    receiver = _Receiver(_free_port())
    receiver.start()
    cfg = _cfg(smtp_port, receiver.port)
    store = Store(tmp_path / "voicebox.db")
    number = _ticket(store, cfg)
    done = Courier(store, lambda: cfg.integrations).deliver_due()
    receiver.stop()
    assert sorted((d.target, d.error) for d in done) == [("smtp", ""), ("webhook:crm", "")]

    ((to, mail),) = mailbox.mails
    assert to == ["support@office.example"]
    assert mail["Subject"] == f"URGENT Ticket {number}: laptop screen stays black"
    body = mail.get_payload()
    for line in ("Caller:     Ann Lee", "Call back:  5550142", "Urgency:    urgent",
                 "Transcript: voicebox calls show call1"):  # fmt: skip
        assert line in body

    ((headers, raw),) = receiver.got
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["X-Voicebox-Signature"] == expected
    sent = json.loads(raw)
    assert (sent["type"], sent["number"], sent["name"], sent["callback"]) == (
        "ticket", number, "Ann Lee", "5550142",
    )  # fmt: skip
    assert store.outbox_pending() == 0
    assert store.tickets()[0]["notices"] == {"smtp": "delivered", "webhook:crm": "delivered"}
    store.close()


def test_a_wrong_mail_password_is_said_and_retried(tmp_path: Path, smtp: Any) -> None:
    smtp_port, mailbox = smtp
    cfg = _cfg(smtp_port, _free_port(), password="wrong")
    with pytest.raises(notify.DeliveryError, match="login refused"):
        notify.check_mail(cfg.integrations.smtp)  # type: ignore[arg-type]
    store = Store(tmp_path / "voicebox.db")
    _ticket(store, cfg)
    now = [time.time()]
    courier = Courier(store, lambda: cfg.integrations, clock=lambda: now[0])
    failed = {d.target: d.error for d in courier.deliver_due()}
    assert "login refused" in failed["smtp"] and "refused" in failed["webhook:crm"]
    assert mailbox.mails == []
    assert courier.deliver_due() == []  # backing off: not tried again at once
    fixed = _cfg(smtp_port, _free_port())
    courier.integrations = lambda: fixed.integrations
    now[0] += 31  # the first retry comes after 30 s
    again = {d.target: d.error for d in courier.deliver_due()}
    assert again["smtp"] == "" and len(mailbox.mails) == 1
    store.close()


def test_a_receiver_that_comes_back_gets_the_notice(tmp_path: Path) -> None:
    receiver = _Receiver(_free_port())
    cfg = _cfg(_free_port(), receiver.port)
    cfg.integrations.smtp = None
    store = Store(tmp_path / "voicebox.db")
    number = _ticket(store, cfg)
    now = [time.time()]
    courier = Courier(store, lambda: cfg.integrations, clock=lambda: now[0])
    (down,) = courier.deliver_due()
    assert down.error and store.outbox_pending() == 1
    assert "failing" in store.tickets()[0]["notices"]["webhook:crm"]
    receiver.start()
    now[0] += 31
    (up,) = courier.deliver_due()
    receiver.stop()
    assert up.error == "" and json.loads(receiver.got[0][1])["number"] == number
    store.close()


KILLED = """
import os, signal, sys
from appliance.events import ConversationStarted
from appliance.store import Store
store = Store(__import__("pathlib").Path(sys.argv[1]))
store.record(ConversationStarted("call9", channel="sip", assistant="support", caller="201"))
n = store.open_ticket("call9", assistant="support", who="Bo", callback="5550100",
                      summary="printer offline", urgency="normal", targets=["webhook:crm"])
print(n, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # the box dies before anything is delivered
"""


def test_a_notice_queued_when_the_box_was_killed_is_delivered_after_restart(
    tmp_path: Path,
) -> None:
    db = tmp_path / "voicebox.db"
    run = subprocess.run(
        [sys.executable, "-c", KILLED, str(db)], capture_output=True, text=True, cwd=ROOT
    )
    assert run.returncode == -signal.SIGKILL, run.stderr
    number = int(run.stdout.strip())
    receiver = _Receiver(_free_port())
    receiver.start()
    cfg = _cfg(_free_port(), receiver.port)
    store = Store(db)  # the restarted box
    store.close_interrupted()
    courier = Courier(store, lambda: cfg.integrations, clock=lambda: time.time() + SETTLE_S)
    (d,) = courier.deliver_due()
    receiver.stop()
    assert d.error == "" and json.loads(receiver.got[0][1])["number"] == number
    store.close()


def test_integrations_check_says_what_answers(tmp_path: Path, smtp: Any) -> None:
    smtp_port, mailbox = smtp
    data = yaml.safe_load((ROOT / "appliance/templates/starter.yaml").read_text())
    data["integrations"] = {
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "username": "box", "password": "pw",
                 "sender": "voicebox@office.example", "to": ["support@office.example"]},
        "webhooks": [{"name": "crm", "url": f"http://127.0.0.1:{_free_port()}/x"}],
        "contacts": {"file": "book.csv"},  # next to the config file
    }  # fmt: skip
    (tmp_path / "book.csv").write_text("name,phone\nAnn Lee,5550142\nBo Ray,5550199\n")
    path = tmp_path / "voicebox.yaml"
    path.write_text(yaml.safe_dump(data))
    voicebox = Path(sys.executable).parent / "voicebox"
    run = subprocess.run(
        [str(voicebox), "integrations", "check", "--config", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = run.stdout.splitlines()
    assert run.returncode == 1, run.stderr
    assert lines[0].startswith("OK    smtp: mail server 127.0.0.1")
    assert "logged in as box" in lines[0]
    assert lines[1] == f"OK    contacts: 2 contact(s) with a phone number in {tmp_path}/book.csv"
    assert lines[2].startswith("FAIL  webhook:crm:") and "refused" in lines[2]
    assert mailbox.mails == []  # a check sends nothing


def test_tickets_and_calls_show_print_the_ticket(tmp_path: Path) -> None:
    db = tmp_path / "voicebox.db"
    store = Store(db)
    number = _ticket(store, _cfg(_free_port(), _free_port()))
    store.close()
    voicebox = Path(sys.executable).parent / "voicebox"
    run = subprocess.run(
        [str(voicebox), "tickets", "--db", str(db), "--json"], capture_output=True, text=True
    )
    (t,) = json.loads(run.stdout)
    assert (t["number"], t["who"], t["urgency"]) == (number, "Ann Lee", "urgent")
    assert t["notices"] == {"smtp": "queued", "webhook:crm": "queued"}
    shown = subprocess.run(
        [str(voicebox), "calls", "show", "call1", "--db", str(db)], capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert f"ticket {number} (urgent): Ann Lee, call back 5550142: laptop screen" in shown.stdout


def test_a_lead_reaches_the_crm_once_it_is_back(tmp_path: Path) -> None:
    receiver = _Receiver(_free_port())
    cfg = _cfg(_free_port(), receiver.port)
    store = Store(tmp_path / "voicebox.db")
    store.record(ConversationStarted("call5", channel="sip", assistant="sales", caller="201"))
    fields = {"who": "Bo Ray", "company": "Initech", "callback": "5550199",
              "need": "ten desk phones", "budget": "about 2000 dollars", "urgency": ""}  # fmt: skip
    store.record_lead("call5", assistant="sales", fields=fields,
                      targets=cfg.integrations.targets("lead"))  # fmt: skip
    store.record(ConversationEnded("call5", reason="caller hung up", assistant="sales", turns=4))
    assert cfg.integrations.targets("lead") == ["webhook:crm"]  # mail is for tickets by default
    now = [time.time()]
    courier = Courier(store, lambda: cfg.integrations, clock=lambda: now[0])
    (down,) = courier.deliver_due()
    assert down.what == "lead 1" and down.error
    receiver.start()
    now[0] += 31
    (up,) = courier.deliver_due()
    receiver.stop()
    headers, raw = receiver.got[0]
    sent = json.loads(raw)
    assert up.error == "" and (sent["type"], sent["company"], sent["budget"]) == (
        "lead", "Initech", "about 2000 dollars",
    )  # fmt: skip
    assert headers["X-Voicebox-Signature"].startswith("sha256=")
    assert store.leads()[0]["notices"] == {"webhook:crm": "delivered"}
    store.close()
