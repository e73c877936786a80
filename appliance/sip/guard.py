"""Who may call the box: the registrars' addresses plus an allowlist (SIP scanners roam the
internet looking for toll fraud). Pure Python, so it is tested without a SIP stack."""

from __future__ import annotations

import ipaddress
import logging
import socket

from appliance.config.sip import Sip

_LOGGER = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
PEER_DEFAULT = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
    "fe80::/10",
)


def source_ip(address: str) -> str:
    """The IP of a pjsua2 source address ("1.2.3.4:5060", "[::1]:5060", "1.2.3.4")."""
    a = address.strip()
    if a.startswith("["):
        return a[1 : a.index("]")]
    return a.rsplit(":", 1)[0] if a.count(":") == 1 else a


def normal_ip(text: str) -> str:
    """One spelling per address ("2001:0db8::0001" -> "2001:db8::1"; not an IP: as it is)."""
    try:
        return str(ipaddress.ip_address(text.split("%", 1)[0]))
    except ValueError:
        return text


def resolve(host: str) -> set[str]:
    """The addresses of a registrar host (no port, no brackets: SipAccount.host)."""
    try:
        return {normal_ip(str(info[4][0])) for info in socket.getaddrinfo(host, None)}
    except OSError as err:
        _LOGGER.warning("cannot resolve registrar %s: %s", host, err)
        return set()


class CallerGuard:
    """Decides whether an INVITE's source address may reach the box."""

    def __init__(self, sip: Sip) -> None:
        allow = list(sip.allow)
        if sip.peer_mode and not allow:
            allow = list(PEER_DEFAULT)
        self.networks: list[Network] = [ipaddress.ip_network(a, strict=False) for a in allow]
        self.trusted: set[str] = set()
        for acc in sip.accounts:
            self.trusted |= resolve(acc.host)

    def trust_local(self, hosts: list[str]) -> None:
        """The box's own addresses (a caller on the box itself, e.g. `voicebox call`)."""
        self.trusted |= {normal_ip(h.strip("[]")) for h in hosts}

    def allowed(self, address: str) -> bool:
        ip_text = normal_ip(source_ip(address))
        if ip_text in self.trusted:
            return True
        try:
            ip = ipaddress.ip_address(ip_text)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)
