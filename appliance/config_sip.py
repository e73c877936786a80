"""The SIP part of the configuration: accounts, the local port, codecs, limits, security, DTMF.

With no account the box runs in peer mode (the embedded default): it listens on its port and
answers `sip:<assistant>@<box>` directly, so it works without a PBX.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

HOST_RE = r"^[A-Za-z0-9.\-\[\]:]{1,255}$"
DIGITS = "0123456789*#ABCD"
Transport = Literal["udp", "tcp", "tls"]


def _udp() -> list[Transport]:
    return ["udp"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class SipAccount(_Strict):
    """One extension (or DID) the box registers at the office PBX."""

    registrar: str = Field(pattern=HOST_RE)
    """PBX host or address, optionally with :port, e.g. 192.168.1.10 or pbx.office.lan:5060."""
    user: str = Field(pattern=r"^[0-9A-Za-z*#+._-]{1,64}$")
    """The extension number (user part of the address of record)."""
    auth_user: str = ""
    """Authentication user name, when the PBX wants one different from `user`."""
    password: SecretStr = SecretStr("")
    """Digest password (never logged)."""
    domain: str = ""
    """SIP domain of the address of record; empty means the registrar host."""
    transport: Literal["udp", "tcp", "tls"] = "udp"
    """Transport to the PBX."""
    entry: str = ""
    """The assistant that answers calls to this extension; empty means team.entry."""
    expires_s: int = Field(default=300, ge=10, le=86400)
    """Registration lifetime asked of the PBX; the box refreshes before it ends, so a restarted
    PBX learns the box again within this time."""

    @property
    def host(self) -> str:
        return self.registrar.split(":")[0] if self.registrar.count(":") == 1 else self.registrar

    @property
    def aor_domain(self) -> str:
        return self.domain or self.host

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.aor_domain}"


class Dtmf(_Strict):
    """Keys the caller can press."""

    human_key: str = Field(default="0", pattern=r"^[0-9*#]?$")
    """Key that transfers to a person from any assistant (empty: none)."""
    human: str = ""
    """Which team.human_extensions entry the human key reaches; empty means the first one."""
    end_key: str = Field(default="#", pattern=r"^[0-9*#]?$")
    """Key that ends typed digits at once (else they end after `digits_timeout_ms`)."""
    digits_timeout_ms: int = Field(default=2000, ge=300, le=20000)
    """Typed digits reach the assistant after this pause."""


class Sip(_Strict):
    """How the box joins the phone system."""

    accounts: list[SipAccount] = Field(default_factory=list)
    """Extensions to register; none means peer mode (callers dial the box directly)."""
    bind: str = "0.0.0.0"
    """Local address to listen on."""
    port: int = Field(default=5060, ge=0, le=65535)
    """Local SIP port (0: any free port)."""
    transports: list[Transport] = Field(default_factory=_udp)
    """Transports the box listens on (tls needs tls_cert and tls_key)."""
    tls_cert: str = ""
    """PEM certificate for tls."""
    tls_key: str = ""
    """PEM private key for tls."""
    codecs: list[str] = Field(default_factory=lambda: ["PCMU", "PCMA", "G722"])
    """Codecs in order of preference; others are disabled."""
    max_calls: int = Field(default=4, ge=1, le=4)
    """Simultaneous calls (the pjsua2 wheel is built for at most 4, transfer legs included)."""
    overflow: Literal["busy", "transfer"] = "busy"
    """What a call over the limit gets: busy (486), or a redirect to `overflow_to`."""
    overflow_to: str = ""
    """team.human_extensions entry that takes overflow calls."""
    allow: list[str] = Field(default_factory=list)
    """Addresses or networks (CIDR) besides the registrars that may call the box. In peer mode an
    empty list means loopback and private networks."""
    transfer: Literal["warm", "blind"] = "warm"
    """Transfer to a person: warm (the box calls, tells them a summary, then connects) or blind."""
    warm_timeout_s: int = Field(default=20, ge=3, le=120)
    """A warm transfer nobody answers within this time returns the caller to the assistant."""
    summary_header: str = "X-Voicebox-Summary"
    """SIP header carrying the call summary on a warm transfer (empty: none)."""
    retry_min_s: float = Field(default=2.0, ge=0.5, le=600)
    """First registration retry after a failure; doubles up to retry_max_s."""
    retry_max_s: float = Field(default=300.0, ge=1, le=3600)
    """Longest wait between registration attempts (also after a wrong password)."""
    dtmf: Dtmf = Field(default_factory=Dtmf)
    """Keypad handling."""

    @field_validator("allow")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for item in v:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as err:
                raise ValueError(f"sip.allow: not an address or network: {item!r}") from err
        return v

    @field_validator("codecs")
    @classmethod
    def _codecs(cls, v: list[str]) -> list[str]:
        known = {"PCMU", "PCMA", "G722", "speex", "GSM", "iLBC"}
        bad = [c for c in v if c not in known]
        if bad or not v:
            raise ValueError(f"sip.codecs: unknown codec(s) {bad} (choose from {sorted(known)})")
        return v

    @property
    def peer_mode(self) -> bool:
        return not self.accounts
