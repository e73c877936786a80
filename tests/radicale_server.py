"""A real CalDAV server for the tests: Radicale (from PyPI) on 127.0.0.1, one user with a
password (htpasswd, plain), an empty calendar named `office`, its files in a temp folder."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

USER, PASSWORD = "office", "cal-pass-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Radicale:
    folder: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> Radicale:
        self.folder.mkdir(parents=True, exist_ok=True)
        users = self.folder / "users"
        users.write_text(f"{USER}:{PASSWORD}\n")
        self.port = self.port or _free_port()
        conf = self.folder / "config"
        conf.write_text(
            f"[server]\nhosts = 127.0.0.1:{self.port}\n"
            f"[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\n"
            "htpasswd_encryption = plain\ndelay = 0\n"
            f"[storage]\nfilesystem_folder = {self.folder / 'collections'}\n"
            "[rights]\ntype = owner_only\n[logging]\nlevel = warning\n"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(conf)],
            stdout=subprocess.DEVNULL, stderr=(self.folder / "log").open("wb"),
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    self.client_calendar()  # the `office` calendar exists from the start
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"radicale did not start: {(self.folder / 'log').read_text()}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def client_calendar(self) -> object:
        """The `office` calendar through a second client (the staff's own calendar app)."""
        import caldav

        client = caldav.DAVClient(url=self.url, username=USER, password=PASSWORD)
        principal = client.principal()
        for cal in principal.calendars():
            if str(cal.url).rstrip("/").endswith("/office"):
                return cal
        return principal.make_calendar(name="office", cal_id="office")

    def address_book(self, name: str, cards: list[str]) -> str:
        """An address book `name` holding these vCards (MKCOL, then one PUT each); its URL."""
        import base64
        import urllib.request

        url = f"{self.url}{USER}/{name}/"
        auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        mkcol = (
            '<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype>'
            "<D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>"
        )
        requests = [("MKCOL", url, mkcol, "application/xml")]
        requests += [("PUT", f"{url}c{i}.vcf", c, "text/vcard") for i, c in enumerate(cards)]
        for method, where, body, kind in requests:
            headers = {"Authorization": auth, "Content-Type": kind}
            req = urllib.request.Request(where, data=body.encode(), method=method, headers=headers)
            urllib.request.urlopen(req, timeout=5).close()
        return url

    def integration(self, **extra: object) -> dict[str, object]:
        """The integrations.calendar entry of a config for this server."""
        return {"url": self.url, "username": USER, "password": PASSWORD, "calendar": "office",
                **extra}  # fmt: skip


SCHEDULING_PROMPT = """You are the scheduling assistant of Brightline Office Services. The
calendar itself is handled for you: free times, bookings, moves and cancellations are read back
and confirmed by the box. You answer the caller's other questions briefly from the office
facts, and ask which appointment they would like and when."""


def calendar_config(radicale: Radicale) -> dict[str, Any]:
    """The starter team with scheduling given the calendar tool on the Radicale calendar."""
    import yaml

    starter = Path(__file__).resolve().parents[1] / "appliance/templates/starter.yaml"
    data: dict[str, Any] = yaml.safe_load(starter.read_text())
    week = "09:00-17:00"
    data["team"]["timezone"] = "Europe/Berlin"
    data["team"]["hours"] = {d: week for d in ("mon", "tue", "wed", "thu", "fri")}
    data["integrations"] = {"calendar": {**radicale.integration(), "appointments": [
        {"name": "consultation", "duration_min": 60, "buffer_min": 15},
        {"name": "technician visit", "duration_min": 120, "words": ["technician", "visit"]},
    ]}}  # fmt: skip
    for a in data["assistants"]:
        if a["name"] == "scheduling":
            a["tools"] = [*a["tools"], "calendar"]
            a["system_prompt"] = SCHEDULING_PROMPT
    return data
