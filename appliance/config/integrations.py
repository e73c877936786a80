"""The office systems the box delivers to, under `integrations:` in the config: the office mail
server (SMTP) for new-ticket mail and webhooks (a CRM, a ticket system, a chat bot) on the LAN.

Passwords and webhook signing keys are secrets like the SIP passwords: `SecretStr`, saved as
written, never logged. Deliveries go through the store's outbox (appliance/tools/outbox.py).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from appliance.config.calendar import CalendarServer
from appliance.config.sip import HOST_RE
from appliance.config.strict import StrictModel

Notice = Literal["ticket", "lead"]
NOTICES: tuple[Notice, ...] = ("ticket", "lead")
_ADDRESS_RE = r"^[^@\s<>]+@[^@\s<>]+$"


class Smtp(StrictModel):
    """The office mail server: new tickets (and leads, if asked for) are mailed to `to`."""

    host: str = Field(pattern=HOST_RE)
    """Mail server name or address, e.g. mail.office.lan or 192.168.1.5."""
    port: int = Field(default=25, ge=1, le=65535)
    """25 (plain or STARTTLS) or 587 (submission, usually STARTTLS and login)."""
    starttls: bool = False
    """Upgrade the connection with STARTTLS before sending (and before the login)."""
    username: str = ""
    """Login user; empty: no login."""
    password: SecretStr = SecretStr("")
    """Login password (never logged)."""
    sender: str = Field(pattern=_ADDRESS_RE)
    """The From address, e.g. voicebox@office.example."""
    to: list[str] = Field(min_length=1)
    """Who gets the mail, e.g. [support@office.example]."""
    notices: list[Notice] = Field(default_factory=lambda: list(NOTICES[:1]))
    """Which notices are mailed: ticket (the default), lead."""
    timeout_s: float = Field(default=10.0, gt=0.0, le=120.0)
    """How long one delivery may take before it counts as failed (and is retried)."""

    @field_validator("to")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        bad = [a for a in v if not re.fullmatch(_ADDRESS_RE, a)]
        if bad:
            raise ValueError(f"not a mail address: {', '.join(bad)}")
        return v


class Webhook(StrictModel):
    """An HTTP receiver on the LAN: each notice is POSTed to it as one JSON object."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    """A short name for the TUI and the log, e.g. crm."""
    url: str = Field(pattern=r"^https?://[^\s]+$")
    """Where the JSON is POSTed, e.g. http://192.168.1.20:8080/voicebox."""
    secret: SecretStr = SecretStr("")
    """Signing key: when set, the body's HMAC-SHA256 (hex) goes in the header
    X-Voicebox-Signature as sha256=<hex>, so the receiver can tell the box sent it."""
    notices: list[Notice] = Field(default_factory=lambda: list(NOTICES))
    """Which notices this receiver gets."""
    timeout_s: float = Field(default=10.0, gt=0.0, le=120.0)
    """How long one delivery may take before it counts as failed (and is retried)."""


class CardDav(StrictModel):
    """An address book on a CardDAV server (Radicale, Nextcloud, a NAS) on the LAN."""

    url: str = Field(pattern=r"^https?://[^\s]+$")
    """The address book's own address, e.g. http://192.168.1.10:5232/office/contacts/."""
    username: str = ""
    """Login user; empty: no login."""
    password: SecretStr = SecretStr("")
    """Login password (never logged)."""
    refresh_s: float = Field(default=300.0, ge=10.0, le=86400.0)
    """How old the fetched contacts may get before they are fetched again (in the background)."""
    timeout_s: float = Field(default=10.0, gt=0.0, le=120.0)
    """How long one fetch may take."""


class Contacts(StrictModel):
    """The office's address book: callers found by caller id are greeted by name."""

    file: str = ""
    """A .csv (header: name, phone, company; several numbers split by ; or |) or a .vcf file
    (FN, ORG, TEL); relative to the config file's folder. Read again when it changes."""
    carddav: CardDav | None = None
    """Or: an address book on a CardDAV server (one of file and carddav)."""

    @model_validator(mode="after")
    def _one_source(self) -> Contacts:
        if bool(self.file) == (self.carddav is not None):
            raise ValueError("give the address book as file: or as carddav: (one of them)")
        return self


class Integrations(StrictModel):
    """Office systems on the LAN the box delivers to (never a cloud)."""

    calendar: CalendarServer | None = None
    """The office calendar (CalDAV) the calendar tool books in; none: no bookings."""
    contacts: Contacts | None = None
    """The address book callers are looked up in; none: nobody is known by name."""
    smtp: Smtp | None = None
    """The office mail server for new-ticket mail; none: no mail."""
    webhooks: list[Webhook] = Field(default_factory=list)
    """HTTP receivers for notices (JSON, optionally signed)."""

    def targets(self, notice: Notice) -> list[str]:
        """Where a notice goes: 'smtp' and 'webhook:<name>' entries."""
        out = ["smtp"] if self.smtp is not None and notice in self.smtp.notices else []
        return out + [f"webhook:{w.name}" for w in self.webhooks if notice in w.notices]

    def webhook(self, name: str) -> Webhook | None:
        return next((w for w in self.webhooks if w.name == name), None)
