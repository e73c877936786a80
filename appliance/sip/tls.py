"""TLS settings of the SIP transport: the box verifies the PBX's certificate, always.

pjsua keeps one TlsConfig per transport; it serves incoming TLS (the box's own certificate) and
checks the far end of every outgoing TLS connection (`verifyServer`: the chain against the CA
list and the certificate's name against the host dialled). Without `sip.tls_ca_file` the chain is
checked against the system CA store; with neither there is no TLS: a cautious default (a PBX
that cannot be verified could be anyone, and the box sends its digest login to it).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pjsua2 as pj

from appliance.errors import SipError

_LOGGER = logging.getLogger(__name__)
SYSTEM_CA = Path("/etc/ssl/certs/ca-certificates.crt")  # Debian's bundle (ca-certificates)


def ca_list(ca_file: str, system: Path = SYSTEM_CA) -> str:
    """The CA file TLS connections are verified against (SipError when there is none)."""
    path = Path(ca_file) if ca_file else system
    if not path.is_file():
        what = (
            f"sip.tls_ca_file {ca_file!r} is not a file"
            if ca_file
            else (f"no sip.tls_ca_file and no system CA store at {system}")
        )
        raise SipError(f"TLS: {what}; the box does not use TLS it cannot verify")
    return str(path)


def tls_config(cert: str, key: str, ca_file: str, system: Path = SYSTEM_CA) -> Any:
    """pjsua2 TlsConfig of the box's TLS transport."""
    cfg = pj.TlsConfig()
    _set(cfg, "certFile", cert)
    _set(cfg, "privKeyFile", key)
    _set(cfg, "CaListFile", ca_list(ca_file, system))  # sic: pjsua2's capital C
    _set(cfg, "verifyServer", True)  # chain and name of every server the box connects to
    _set(cfg, "verifyClient", False)  # phones calling in meet the allowlist, not certificates
    _set(cfg, "requireClientCert", False)
    _set(cfg, "proto", pj.PJ_SSL_SOCK_PROTO_TLS1_2 | pj.PJ_SSL_SOCK_PROTO_TLS1_3)  # no TLS < 1.2
    _LOGGER.info("TLS: verifying servers against %s", cfg.CaListFile)
    return cfg


def _set(obj: Any, name: str, value: Any) -> None:
    """A SWIG struct takes any attribute name silently: a misspelt field would be no setting."""
    if not hasattr(type(obj), name):
        raise SipError(f"pjsua2 {type(obj).__name__} has no field {name}")
    setattr(obj, name, value)
