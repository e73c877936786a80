"""The SIP rules that need no network: who may call, what counts as asking for a person, keypad
plans, heard-audio spans, registration back-off, the sip config section."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import yaml

from appliance.config import HumanExtension, dump_config, load_config, parse_config, template_text
from appliance.config.sip import Sip, SipAccount
from appliance.errors import ConfigError
from appliance.sip.calls import header, request_user
from appliance.sip.guard import CallerGuard, source_ip
from appliance.sip.phone import heard_spans, parse_dtmf
from appliance.sip.registration import Registration, reg_state
from appliance.tools import human


def test_source_ip_forms() -> None:
    assert source_ip("10.0.0.5:5060") == "10.0.0.5"
    assert source_ip("[2001:db8::1]:5060") == "2001:db8::1"
    assert source_ip("10.0.0.5") == "10.0.0.5"


def test_guard_allows_registrar_and_allowlist_only() -> None:
    sip = Sip(accounts=[SipAccount(registrar="127.0.0.1:5060", user="100")], allow=["10.1.0.0/16"])
    guard = CallerGuard(sip)
    assert guard.allowed("127.0.0.1:5060")
    assert guard.allowed("10.1.200.3:5062")
    assert not guard.allowed("127.0.0.2:5060")  # loopback is not special with a PBX
    assert not guard.allowed("185.53.88.10:5070")  # a scanner on the internet
    assert not guard.allowed("garbage")


def test_peer_mode_defaults_to_private_networks() -> None:
    guard = CallerGuard(Sip())
    assert guard.allowed("192.168.1.20:5060") and guard.allowed("127.0.0.1:40000")
    assert not guard.allowed("8.8.8.8:5060")
    assert not CallerGuard(Sip(allow=["192.168.7.0/24"])).allowed("192.168.1.20:5060")


@pytest.mark.parametrize(
    "text",
    [
        "Can I talk to a real person, please?",
        "Put me through to a human.",
        "I want to speak to someone.",
        "Operator!",
        "I need to speak to the technician on call.",
    ],
)
def test_asking_for_a_person(text: str) -> None:
    assert human.wants_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to book an appointment for Tuesday.",
        "Someone broke the printer.",
        "No, I don't need to talk to anyone, thanks.",
        "How much does the premium package cost?",
    ],
)
def test_not_asking_for_a_person(text: str) -> None:
    assert not human.wants_person(text)


def test_only_configured_people_are_reached() -> None:
    team = [
        HumanExtension(name="reception", extension="100", description="the office manager"),
        HumanExtension(name="oncall", extension="200", description="the technician on call"),
    ]
    assert human.pick("get me the technician on call", team) == team[1]
    assert human.pick("a person please", team) == team[0]
    assert human.pick("transfer me to 0900 555 1234", team) == team[0]
    assert human.named_number("transfer me to 0900 555 1234") == "09005551234"
    assert human.named_number("a person please") is None
    assert human.pick("anyone", []) is None


def test_dtmf_plans() -> None:
    plans = parse_dtmf("0@4, 123#@2.5:info")
    assert [(p.digits, p.at_s, p.method) for p in plans] == [
        ("0", 4.0, "rfc2833"),
        ("123#", 2.5, "info"),
    ]
    for bad in ("x@1", "1@2:sms"):
        with pytest.raises(ValueError):
            parse_dtmf(bad)


def test_heard_spans_find_sound_and_join_short_gaps() -> None:
    rate = 8000
    tone = (0.1 * np.sin(np.arange(rate // 2) * 0.3)).astype(np.float32)  # 500 ms
    quiet = np.zeros(rate // 10, np.float32)  # 100 ms: joined
    long_quiet = np.zeros(rate, np.float32)  # 1 s: separate
    audio = np.concatenate([long_quiet, tone, quiet, tone, long_quiet, tone])
    assert heard_spans(audio, rate) == [(1000, 2100), (3100, 3600)]


def test_sip_message_parts() -> None:
    msg = "INVITE sip:sales@10.0.0.2:5060 SIP/2.0\r\nFrom: <sip:100@pbx>;tag=1\r\nX-A: b\r\n"
    assert request_user(msg) == "sales"
    assert header(msg, "x-a") == "b" and header(msg, "To") == ""


class _Clock:
    def __init__(self) -> None:
        self.later: list[float] = []

    def call_later(self, delay: float, fn: Any) -> None:
        self.later.append(delay)


def test_registration_backs_off_and_waits_long_after_a_wrong_password() -> None:
    assert reg_state(200, 300) == "registered" and reg_state(200, 0) == "unregistered"
    assert reg_state(403, 0) == "auth_failed" and reg_state(408, 0) == "failed"
    events: list[dict[str, Any]] = []
    clock = _Clock()
    sip = Sip(retry_min_s=2, retry_max_s=60)
    acc = SipAccount(registrar="pbx", user="100")
    reg = Registration(acc, sip, clock, None, lambda ev: events.append(ev.to_wire()))  # type: ignore[arg-type]
    for _ in range(6):
        reg.on_result(408, "Request Timeout", 0)
        reg._retry_due = False  # as if each retry had run and failed again
    assert [e["retry_in_s"] for e in events] == [2, 4, 8, 16, 32, 60]
    reg.on_result(200, "OK", 300)
    assert events[-1]["state"] == "registered" and reg.failures == 0
    reg.on_result(401, "Unauthorized", 0)
    assert events[-1]["state"] == "auth_failed" and events[-1]["retry_in_s"] == 60


def test_sip_config_errors_are_located_and_passwords_survive_a_save() -> None:
    data = yaml.safe_load(template_text("starter"))
    data["sip"] = {
        "accounts": [{"registrar": "10.0.0.1", "user": "100", "password": "s3cret!", "entry": "x"}],
        "allow": ["not-a-net"],
        "overflow_to": "nobody",
    }
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    text = " | ".join(err.value.problems)
    assert "sip.allow: not an address or network" in text
    data["sip"]["allow"] = []
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    text = " | ".join(err.value.problems)
    assert "sip.accounts[0].entry: unknown assistant 'x'" in text
    assert "sip.overflow_to: unknown human extension 'nobody'" in text
    data["sip"]["accounts"][0]["entry"] = "sales"
    del data["sip"]["overflow_to"]
    cfg = parse_config(data)
    assert "s3cret" not in repr(cfg.sip.accounts[0])
    again = parse_config(yaml.safe_load(dump_config(cfg)))
    assert again.sip.accounts[0].password.get_secret_value() == "s3cret!"
    assert load_config().sip.peer_mode
