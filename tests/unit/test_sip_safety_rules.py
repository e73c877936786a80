"""SIP hardening without a network: REFERs are declined unless a leg opts in, the graveyard of
ended calls drops what is safe to drop, TLS always verifies the PBX, IPv6 registrars parse."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pjsua2 as pj
import pytest
from pydantic import ValidationError

from appliance.config.sip import Sip, SipAccount, split_hostport, uri_host
from appliance.errors import SipError
from appliance.sip.calls import DECLINE, SipCall, account_config
from appliance.sip.endpoint import BURY_GRACE_S, SipEndpoint
from appliance.sip.guard import CallerGuard, source_ip
from appliance.sip.tls import tls_config

# -- REFER ------------------------------------------------------------------------------------


def _leg(follow: bool) -> tuple[SimpleNamespace, list[tuple[str, dict[str, Any]]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    leg = SimpleNamespace(
        follow_transfers=follow, tag="c7", _report=lambda kind, **data: seen.append((kind, data))
    )
    return leg, seen


def test_a_refer_is_declined_by_default() -> None:
    leg, seen = _leg(follow=False)
    prm = SimpleNamespace(dstUri="<sip:0900123456@203.0.113.9>", statusCode=202, newCall=None)
    SipCall.onCallTransferRequest(leg, prm)
    assert prm.statusCode == DECLINE == 603
    assert prm.newCall is None
    assert seen == [("transfer_refused", {"dst": "<sip:0900123456@203.0.113.9>"})]


def test_a_leg_that_opts_in_follows_the_refer() -> None:
    leg, seen = _leg(follow=True)
    prm = SimpleNamespace(dstUri="sip:200@pbx", statusCode=202, newCall=None)
    SipCall.onCallTransferRequest(leg, prm)
    assert prm.statusCode == 202
    assert [k for k, _ in seen] == ["transfer_request"]


# -- graveyard --------------------------------------------------------------------------------


class FakeCall:
    def __init__(self, active: bool = False) -> None:
        self.active = active
        self.retired = 0
        self.handler: Any = None

    def isActive(self) -> bool:
        return self.active

    def retire(self) -> None:
        self.retired += 1
        self.handler = None


def test_burial_is_once_and_idle_calls_go_after_the_grace_time() -> None:
    ep = SipEndpoint()
    idle, busy, held = FakeCall(), FakeCall(active=True), FakeCall()
    for c in (idle, busy, held, idle):
        ep.bury(c)
    del c
    assert len(ep.graveyard) == 3 and idle.retired == 1
    del idle  # only the graveyard has it now; `held` is still held here (by the test)
    t0 = ep.graveyard[0][0]
    ep._reap(t0 + BURY_GRACE_S / 2)
    assert len(ep.graveyard) == 3  # too early
    ep._reap(t0 + BURY_GRACE_S + 0.1)
    assert [x for _, x in ep.graveyard] == [busy, held]  # its id is in use / not ours alone
    assert ep._buried == {id(busy), id(held)}
    busy.active = False
    del held
    ep._reap(t0 + BURY_GRACE_S + 1)
    assert [x for _, x in ep.graveyard] == [busy]  # `busy` is still referenced here
    del busy
    ep._reap(t0 + BURY_GRACE_S + 2)
    assert not ep.graveyard and not ep._buried


def test_a_handler_closing_over_its_call_does_not_pin_it() -> None:
    ep = SipEndpoint()
    call = FakeCall()
    ep.bury(call)
    call.handler = (lambda c: lambda: c)(call)  # a cycle set after the burial (as _overflow)
    del call
    ep._reap(ep.graveyard[0][0] + BURY_GRACE_S + 0.1)
    assert not ep.graveyard


def test_burial_cost_does_not_grow_with_the_graveyard() -> None:
    ep = SipEndpoint()
    calls = [FakeCall(active=True) for _ in range(20000)]
    for c in calls:
        ep.bury(c)
    for c in calls:  # each a no-op lookup now; the old list scan made this 2 * 10^8 steps
        ep.bury(c)
    assert len(ep.graveyard) == 20000


# -- TLS --------------------------------------------------------------------------------------


def test_tls_verifies_the_server_against_the_configured_ca(tmp_path: Path) -> None:
    ca = tmp_path / "pbx-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    cfg = tls_config("box.pem", "box.key", str(ca), system=tmp_path / "none")
    assert cfg.CaListFile == str(ca)
    assert cfg.verifyServer is True and cfg.verifyClient is False
    assert (cfg.certFile, cfg.privKeyFile) == ("box.pem", "box.key")
    assert cfg.proto == pj.PJ_SSL_SOCK_PROTO_TLS1_2 | pj.PJ_SSL_SOCK_PROTO_TLS1_3
    assert not hasattr(type(cfg), "caListFile")  # the field is CaListFile: no silent misspelling


def test_tls_without_a_ca_uses_the_system_store_or_refuses(tmp_path: Path) -> None:
    system = tmp_path / "ca-certificates.crt"
    with pytest.raises(SipError, match=r"no sip\.tls_ca_file and no system CA store"):
        tls_config("", "", "", system=system)
    system.write_text("-----BEGIN CERTIFICATE-----\n")
    cfg = tls_config("", "", "", system=system)
    assert cfg.CaListFile == str(system) and cfg.verifyServer is True
    with pytest.raises(SipError, match="is not a file"):
        tls_config("", "", str(tmp_path / "missing.pem"), system=system)


def test_tls_accounts_need_the_tls_transport_and_the_ca_is_configurable() -> None:
    acc = SipAccount(registrar="pbx.office.lan:5061", user="100", transport="tls")
    with pytest.raises(ValidationError, match=r"add tls to sip\.transports"):
        Sip(accounts=[acc])
    sip = Sip(accounts=[acc], transports=["udp", "tls"], tls_ca_file="/etc/voicebox/pbx-ca.pem")
    assert sip.tls_ca_file == "/etc/voicebox/pbx-ca.pem"
    cfg = account_config(acc, local_uri="", transport_id=1)
    assert cfg.regConfig.registrarUri == "sips:pbx.office.lan:5061"


# -- IPv6 registrars --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("[2001:db8::1]:5060", "2001:db8::1", 5060),
        ("[2001:0db8:0::1]", "2001:db8::1", None),
        ("2001:db8::1", "2001:db8::1", None),
        ("192.168.1.10:5080", "192.168.1.10", 5080),
        ("pbx.office.lan", "pbx.office.lan", None),
    ],
)
def test_host_and_port_split(text: str, host: str, port: int | None) -> None:
    assert split_hostport(text) == (host, port)


@pytest.mark.parametrize(
    "bad", ["[2001:db8::1", "[2001:db8::1]5060", "[nope]:5060", "pbx:0", "pbx:70000", "a:b:c"]
)
def test_bad_registrars_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        SipAccount(registrar=bad, user="100")


def test_ipv6_registrar_gives_correct_uris() -> None:
    acc = SipAccount(registrar="[2001:db8::1]:5060", user="100")
    assert (acc.host, acc.port, acc.aor) == ("2001:db8::1", 5060, "sip:100@[2001:db8::1]")
    cfg = account_config(acc, local_uri="", transport_id=0)
    assert cfg.regConfig.registrarUri == "sip:[2001:db8::1]:5060"
    assert list(cfg.sipConfig.proxies) == ["sip:[2001:db8::1]:5060;lr"]
    assert cfg.idUri == "sip:100@[2001:db8::1]"
    bare = SipAccount(registrar="2001:db8::2", user="100", transport="tcp")
    assert bare.registrar == "[2001:db8::2]" and bare.host == "2001:db8::2"
    tcp = account_config(bare, local_uri="", transport_id=0)
    assert tcp.regConfig.registrarUri == "sip:[2001:db8::2];transport=tcp"
    assert uri_host("10.0.0.1") == "10.0.0.1"
    v4 = SipAccount(registrar="127.0.0.1:5060", user="100")
    assert (v4.host, v4.port, v4.aor) == ("127.0.0.1", 5060, "sip:100@127.0.0.1")


def test_guard_trusts_an_ipv6_registrar() -> None:
    acc = SipAccount(registrar="[2001:db8::1]:5060", user="100")
    guard = CallerGuard(Sip(accounts=[acc]))
    assert guard.allowed("[2001:db8::1]:5060")
    assert guard.allowed("[2001:0db8:0:0::1]:5070")  # another spelling of the same address
    assert not guard.allowed("[2001:db8::2]:5060")
    assert not guard.allowed("127.0.0.1:5060")
    assert source_ip("[2001:db8::1]:5060") == "2001:db8::1"
    guard.trust_local(["[::1]"])
    assert guard.allowed("[::1]:5060")
