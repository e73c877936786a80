"""The SIP part of the configuration: accounts, the local port, codecs, limits, security, DTMF.

With no account the box runs in peer mode (the embedded default): it listens on its port and
answers `sip:<assistant>@<box>` directly, so it works without a PBX.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from appliance.config.strict import StrictModel

HOST_RE = r"^[A-Za-z0-9.\-\[\]:]{1,255}$"
_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-]{0,253}[A-Za-z0-9])?$")
DIGITS = "0123456789*#ABCD"
Transport = Literal["udp", "tcp", "tls"]


def split_hostport(text: str) -> tuple[str, int | None]:
    """`host[:port]` -> (host, port): "[2001:db8::1]:5060" -> ("2001:db8::1", 5060); a bare
    IPv6 address ("2001:db8::1") has no port; names and IPv4 addresses as usual. ValueError
    when it is none of these."""
    t = text.strip()
    port: str | None = None
    if t.startswith("["):
        end = t.find("]")
        host, rest = t[1:end], t[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            raise ValueError(f"not host[:port]: {text!r}")
        port = rest[1:] if rest else None
        host = str(ipaddress.IPv6Address(host))  # ValueError
    elif t.count(":") > 1:
        host = str(ipaddress.IPv6Address(t))  # a bare IPv6 address, no port
    else:
        host, _, p = t.partition(":")
        port = p if ":" in t else None
        if not _NAME_RE.match(host):
            raise ValueError(f"not a host name or address: {host!r}")
    if port is None:
        return host, None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"not a port: {port!r} in {text!r}")
    return host, int(port)


def uri_host(host: str) -> str:
    """A host as it is written in a SIP URI (IPv6 addresses in brackets)."""
    return f"[{host}]" if ":" in host else host


def _udp() -> list[Transport]:
    return ["udp"]


class SipAccount(StrictModel):
    """One extension (or DID) the box registers at the office PBX."""

    registrar: str = Field(pattern=HOST_RE)
    """PBX host or address, optionally with :port, e.g. 192.168.1.10, pbx.office.lan:5060 or
    [2001:db8::1]:5060 (IPv6 in brackets)."""
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

    @field_validator("registrar")
    @classmethod
    def _hostport(cls, v: str) -> str:
        """Checked and written as a SIP URI wants it (a bare IPv6 address gets brackets)."""
        try:
            host, port = split_hostport(v)
        except ValueError as err:
            raise ValueError(f"registrar: {err} (host, host:port or [IPv6]:port)") from err
        return uri_host(host) + (f":{port}" if port is not None else "")

    @property
    def host(self) -> str:
        """The registrar's host without port or brackets (for resolving, comparing)."""
        return split_hostport(self.registrar)[0]

    @property
    def port(self) -> int | None:
        return split_hostport(self.registrar)[1]

    @property
    def aor_domain(self) -> str:
        return self.domain or uri_host(self.host)

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.aor_domain}"


class Dtmf(StrictModel):
    """Keys the caller can press."""

    human_key: str = Field(default="0", pattern=r"^[0-9*#]?$")
    """Key that transfers to a person from any assistant (empty: none)."""
    human: str = ""
    """Which team.human_extensions entry the human key reaches; empty means the first one."""
    end_key: str = Field(default="#", pattern=r"^[0-9*#]?$")
    """Key that ends typed digits at once (else they end after `digits_timeout_ms`)."""
    digits_timeout_ms: int = Field(default=2000, ge=300, le=20000)
    """Typed digits reach the assistant after this pause."""


class Sip(StrictModel):
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
    tls_ca_file: str = ""
    """PEM file with the CA certificate(s) the PBX's TLS certificate must chain to (for a
    self-signed PBX: its own certificate). Empty: the system CA store. The PBX's certificate and
    its name are always verified; the box does not register over TLS it cannot verify."""
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
    warm_finish: Literal["attended", "bridge"] = "bridge"
    """How a warm transfer connects the caller once the person was briefed: bridge (default: the
    box keeps both legs, two of its call slots, until the call ends) or attended (a REFER with
    Replaces asks the caller's phone to call the person, and the box leaves the call; when the
    caller's phone does not support it or refuses, the box bridges). Attended is opt-in until
    the caller's side of the audio after the hand-over is verified end to end."""
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

    @model_validator(mode="after")
    def _tls_accounts(self) -> Sip:
        tls = [a.user for a in self.accounts if a.transport == "tls"]
        if tls and "tls" not in self.transports:
            raise ValueError(f"sip.accounts {tls} use tls: add tls to sip.transports")
        return self

    @property
    def peer_mode(self) -> bool:
        return not self.accounts
