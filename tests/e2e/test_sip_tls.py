"""TLS to the PBX, for real: kamailio with its tls module on loopback, certificates made here by
openssl, the box's SIP endpoint (pjsua2) in this process registering over TLS. It registers when
the PBX's certificate chains to sip.tls_ca_file and carries the address dialled; with another CA,
or a certificate for another name, no REGISTER gets through."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sipkit import Kamailio, free_port

pytestmark = [pytest.mark.e2e]
TLS_MODULE = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so")


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca(d: Path, name: str) -> tuple[Path, Path]:
    key, cert = d / f"{name}.key", d / f"{name}.pem"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            f"/CN={name}", "-keyout", str(key), "-out", str(cert),
            "-addext", "basicConstraints=critical,CA:TRUE")  # fmt: skip
    return key, cert


def make_server(d: Path, ca: tuple[Path, Path], name: str, san: str) -> tuple[Path, Path]:
    key, csr, cert, ext = (d / f"{name}{s}" for s in (".key", ".csr", ".pem", ".ext"))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", str(key),
            "-out", str(csr))  # fmt: skip
    ext.write_text(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[1]), "-CAkey", str(ca[0]),
            "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert))  # fmt: skip
    return key, cert


class TlsKamailio(Kamailio):
    """The tests' kamailio with a TLS listener too (server certificate `cert`)."""

    def __init__(self, workdir: Path, key: Path, cert: Path) -> None:
        super().__init__(workdir)
        self.tls_port = free_port()
        tls_cfg = workdir / "tls.cfg"
        tls_cfg.write_text(
            f"[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\n"
            f"require_certificate = no\nprivate_key = {key}\ncertificate = {cert}\n"
        )
        text = self.cfg.read_text()
        text = text.replace(
            "auto_aliases=no\n",
            f"auto_aliases=no\nenable_tls=yes\nlisten=tls:127.0.0.1:{self.tls_port}\n",
        )
        text = text.replace(
            'loadmodule "tm.so"\n',
            f'loadmodule "tls.so"\nmodparam("tls", "config", "{tls_cfg}")\nloadmodule "tm.so"\n',
        )
        self.cfg.write_text(text)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl")
    d = tmp_path_factory.mktemp("tls")
    ca, other = make_ca(d, "office-ca"), make_ca(d, "someone-else")
    good = make_server(d, ca, "pbx", "IP:127.0.0.1")
    wrong_name = make_server(d, ca, "pbx-elsewhere", "DNS:pbx.elsewhere.example")
    return {"ca": ca[1], "other_ca": other[1], "key": good[0], "cert": good[1],
            "wn_key": wrong_name[0], "wn_cert": wrong_name[1]}  # fmt: skip


def register_over_tls(kam_dir: Path, key: Path, cert: Path, ca_file: Path) -> tuple[int, str]:
    """Start a TLS kamailio on `cert`, register 100 over TLS trusting `ca_file`: (code, log)."""
    from appliance.config.sip import SipAccount
    from appliance.sip.calls import SipAccountObj, account_config
    from appliance.sip.endpoint import SipEndpoint

    kam_dir.mkdir()
    kam = TlsKamailio(kam_dir, key, cert)
    kam.start()
    ep = SipEndpoint(bind="127.0.0.1", port=0, transports=["udp", "tls"], tls_ca_file=str(ca_file))
    results: list[dict[str, Any]] = []
    got = threading.Event()

    def on_account(kind: str, data: dict[str, Any]) -> None:
        if kind == "reg":
            results.append(data)
            got.set()

    settings = SipAccount(registrar=f"127.0.0.1:{kam.tls_port}", user="100",
                          password="secret100", transport="tls", expires_s=60)  # fmt: skip
    holder: list[Any] = []
    try:
        ep.start()

        def create() -> None:
            acc = SipAccountObj(on_account, settings)
            acc.create(account_config(settings, local_uri="", transport_id=ep.transport_id("tls")))
            holder.append(acc)

        ep.run(create)
        got.wait(15)

        def drop() -> None:
            for acc in holder:
                acc.shutdown()
            holder.clear()

        ep.run(drop)
    finally:
        ep.stop()
        kam.stop()
    log = (kam_dir / "kamailio.log").read_text(errors="replace")
    assert results, f"no registration result in 15 s; kamailio log:\n{log[-2000:]}"
    return int(results[0]["code"]), log


@pytest.fixture(scope="module", autouse=True)
def _tls_module() -> Iterator[None]:
    if not TLS_MODULE.exists():
        pytest.fail("no kamailio tls module (scripts/setup.sh installs kamailio-tls-modules)")
    yield


def test_registers_when_the_pbx_certificate_chains_to_the_configured_ca(
    certs: dict[str, Path], tmp_path: Path
) -> None:
    code, log = register_over_tls(tmp_path / "k", certs["key"], certs["cert"], certs["ca"])
    assert code == 200, log[-2000:]


def test_no_registration_when_the_pbx_certificate_is_signed_by_another_ca(
    certs: dict[str, Path], tmp_path: Path
) -> None:
    code, log = register_over_tls(tmp_path / "k", certs["key"], certs["cert"], certs["other_ca"])
    assert code != 200, (code, log[-2000:])  # the TLS handshake failed: no login was sent


def test_no_registration_when_the_certificate_names_another_host(
    certs: dict[str, Path], tmp_path: Path
) -> None:
    code, log = register_over_tls(tmp_path / "k", certs["wn_key"], certs["wn_cert"], certs["ca"])
    assert code != 200, (code, log[-2000:])
