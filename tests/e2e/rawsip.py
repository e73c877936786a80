"""A SIP user agent written out by hand on a UDP socket, for the security tests: it sends what a
real phone would not (a REFER to anywhere, thousands of INVITEs) and sees every packet that
arrives. Loopback only; every wait is bounded."""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import time
from dataclasses import dataclass, field

Addr = tuple[str, int]


@dataclass
class Msg:
    first: str  # "SIP/2.0 200 OK" or "INVITE sip:... SIP/2.0"
    headers: list[tuple[str, str]]
    body: str
    source: Addr

    @property
    def is_response(self) -> bool:
        return self.first.startswith("SIP/2.0 ")

    @property
    def code(self) -> int:
        return int(self.first.split()[1]) if self.is_response else 0

    @property
    def method(self) -> str:
        return "" if self.is_response else self.first.split()[0]

    def get(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def cseq_method(self) -> str:
        return self.get("CSeq").split()[-1] if self.get("CSeq") else ""


def parse(data: bytes, source: Addr) -> Msg | None:
    text = data.decode("utf-8", "replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    if not lines or not lines[0]:
        return None
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return Msg(lines[0], headers, body, source)


def _tag() -> str:
    return secrets.token_hex(6)


def _uri_addr(uri: str) -> Addr:
    """host and port of a sip: URI (<...> and parameters allowed)."""
    m = re.search(r"sips?:(?:[^@>]*@)?([^;>:]+)(?::(\d+))?", uri)
    assert m, uri
    return m.group(1), int(m.group(2) or 5060)


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str = ""
    remote_target: str = ""
    route: list[str] = field(default_factory=list)
    cseq: int = 1
    to_uri: str = ""
    from_uri: str = ""

    def next_hop(self) -> Addr:
        return _uri_addr(self.route[0] if self.route else self.remote_target)


class RawUA:
    """One UDP socket on `bind`; requests it did not expect are answered 200 (NOTIFY, OPTIONS,
    a BYE from the far end) and kept in `requests`."""

    def __init__(self, bind: str = "127.0.0.1", user: str = "caller") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((bind, 0))
        self.addr: Addr = self.sock.getsockname()
        self.user = user
        self.requests: list[Msg] = []
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # absorbs the box's audio
        self.rtp.bind((bind, 0))

    def close(self) -> None:
        self.sock.close()
        self.rtp.close()

    @property
    def contact(self) -> str:
        return f"<sip:{self.user}@{self.addr[0]}:{self.addr[1]}>"

    def _via(self, branch: str) -> str:
        return f"SIP/2.0/UDP {self.addr[0]}:{self.addr[1]};branch=z9hG4bK{branch};rport"

    def send(self, text: str, to: Addr) -> None:
        self.sock.sendto(text.encode(), to)

    def recv(self, timeout: float) -> Msg | None:
        """The next message, answering stray requests on the way (None after `timeout`)."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, src = self.sock.recvfrom(65535)
        except TimeoutError:
            return None
        msg = parse(data, src)
        if msg is not None and not msg.is_response:
            self.requests.append(msg)
        return msg

    def answer(self, req: Msg, code: int, reason: str) -> None:
        vias = "".join(f"Via: {v}\r\n" for v in req.all("Via"))
        to = req.get("To") + ("" if ";tag=" in req.get("To") else f";tag={_tag()}")
        self.send(
            f"SIP/2.0 {code} {reason}\r\n{vias}From: {req.get('From')}\r\nTo: {to}\r\n"
            f"Call-ID: {req.get('Call-ID')}\r\nCSeq: {req.get('CSeq')}\r\n"
            f"Content-Length: 0\r\n\r\n",
            req.source,
        )

    def wait_response(self, call_id: str, method: str, timeout: float, final: bool = True) -> Msg:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.recv(left)
            if msg is None:
                break
            if not msg.is_response:
                if msg.method not in ("ACK",):
                    self.answer(msg, 200, "OK")
                continue
            if (
                msg.get("Call-ID") == call_id
                and msg.cseq_method == method
                and (msg.code >= 200 or not final)
            ):
                return msg
        raise AssertionError(f"no {'final ' if final else ''}answer to {method} in {timeout} s")

    # -- a call ------------------------------------------------------------------------------

    def blast(self, uri: str, to: Addr, n: int, *, per_batch: int = 50, pause_s: float = 0.1,
              wait_s: float = 10.0) -> dict[int, int]:  # fmt: skip
        """`n` INVITEs in batches without waiting for answers, like a scanner; every final
        answer is ACKed. {final code: count}; code 0 counts the INVITEs never answered."""
        pending: dict[str, tuple[Dialog, str]] = {}
        codes: dict[int, int] = {}

        def collect(until: float) -> None:
            while pending and (left := until - time.monotonic()) > 0:
                msg = self.recv(left)
                if msg is None:
                    return
                key = msg.get("Call-ID")
                if msg.is_response and msg.code >= 200 and key in pending:
                    d, branch = pending.pop(key)
                    self._ack_final(d, branch, uri, to, msg)
                    codes[msg.code] = codes.get(msg.code, 0) + 1

        for i in range(n):
            d, branch = self._send_invite(uri, to)
            pending[d.call_id] = (d, branch)
            if (i + 1) % per_batch == 0:
                collect(time.monotonic() + pause_s)
        collect(time.monotonic() + wait_s)
        if pending:
            codes[0] = len(pending)
        return codes

    def _send_invite(self, uri: str, to: Addr) -> tuple[Dialog, str]:
        d = Dialog(secrets.token_hex(8) + "@rawsip", _tag(), to_uri=uri,
                   from_uri=f"sip:{self.user}@{self.addr[0]}:{self.addr[1]}")  # fmt: skip
        branch = secrets.token_hex(8)
        sdp = (
            f"v=0\r\no=- 1 1 IN IP4 {self.addr[0]}\r\ns=-\r\nc=IN IP4 {self.addr[0]}\r\nt=0 0\r\n"
            f"m=audio {self.rtp.getsockname()[1]} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
        )
        self.send(
            f"INVITE {uri} SIP/2.0\r\nVia: {self._via(branch)}\r\nMax-Forwards: 70\r\n"
            f"From: <{d.from_uri}>;tag={d.local_tag}\r\nTo: <{uri}>\r\nCall-ID: {d.call_id}\r\n"
            f"CSeq: 1 INVITE\r\nContact: {self.contact}\r\nAllow: INVITE, ACK, BYE, CANCEL, "
            f"NOTIFY, OPTIONS\r\nContent-Type: application/sdp\r\n"
            f"Content-Length: {len(sdp)}\r\n\r\n{sdp}",
            to,
        )
        return d, branch

    def invite(self, uri: str, to: Addr, timeout: float = 20.0) -> tuple[Dialog, Msg]:
        """INVITE `uri` via `to`; ACKs the final answer. (dialog, final response)."""
        d, branch = self._send_invite(uri, to)
        final = self.wait_response(d.call_id, "INVITE", timeout)
        self._ack_final(d, branch, uri, to, final)
        return d, final

    def _ack_final(self, d: Dialog, branch: str, uri: str, to: Addr, final: Msg) -> None:
        d.remote_tag = final.get("To").split(";tag=")[1].split(";")[0] if ";tag=" in final.get(
            "To") else ""  # fmt: skip
        if final.code < 300:
            d.remote_target = final.get("Contact").strip("<>").split(">")[0]
            rr = [r.strip() for h in final.all("Record-Route") for r in h.split(",")]
            d.route = list(reversed(rr))
            self._ack(d)
        else:  # a non-2xx ACK: the INVITE's own branch, to where the INVITE went
            self.send(
                f"ACK {uri} SIP/2.0\r\nVia: {self._via(branch)}\r\nMax-Forwards: 70\r\n"
                f"From: <{d.from_uri}>;tag={d.local_tag}\r\nTo: {final.get('To')}\r\n"
                f"Call-ID: {d.call_id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
                to,
            )

    def _in_dialog(self, d: Dialog, method: str, extra: str = "", cseq: int | None = None) -> str:
        routes = "".join(f"Route: {r}\r\n" for r in d.route)
        return (
            f"{method} {d.remote_target} SIP/2.0\r\nVia: {self._via(secrets.token_hex(8))}\r\n"
            f"Max-Forwards: 70\r\n{routes}From: <{d.from_uri}>;tag={d.local_tag}\r\n"
            f"To: <{d.to_uri}>;tag={d.remote_tag}\r\nCall-ID: {d.call_id}\r\n"
            f"CSeq: {cseq if cseq is not None else d.cseq} {method}\r\nContact: {self.contact}\r\n"
            f"{extra}Content-Length: 0\r\n\r\n"
        )

    def _ack(self, d: Dialog) -> None:
        self.send(self._in_dialog(d, "ACK", cseq=1), d.next_hop())

    def request(self, d: Dialog, method: str, extra: str = "", timeout: float = 5.0) -> Msg:
        d.cseq += 1
        self.send(self._in_dialog(d, method, extra), d.next_hop())
        return self.wait_response(d.call_id, method, timeout)

    def refer(self, d: Dialog, target: str) -> Msg:
        return self.request(d, "REFER", f"Refer-To: <{target}>\r\nReferred-By: <{d.from_uri}>\r\n")

    def listen(self, seconds: float) -> list[Msg]:
        """Every message that arrives in `seconds` (requests answered as in `recv`)."""
        got = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            msg = self.recv(left)
            if msg is None:
                break
            got.append(msg)
            if not msg.is_response and msg.method not in ("ACK", "INVITE"):
                self.answer(msg, 200, "OK")
            elif msg.method == "INVITE":
                self.answer(msg, 486, "Busy Here")
        return got

    # -- registration ------------------------------------------------------------------------

    def register(self, registrar: Addr, user: str, password: str, expires: int = 60) -> int:
        """REGISTER this socket as `user` (digest auth); the final code."""
        host = f"{registrar[0]}:{registrar[1]}"
        uri = f"sip:{host}"
        call_id = secrets.token_hex(8) + "@rawsip"
        tag = _tag()
        auth = ""
        for cseq in (1, 2):
            self.send(
                f"REGISTER {uri} SIP/2.0\r\nVia: {self._via(secrets.token_hex(8))}\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:{user}@{host}>;tag={tag}\r\n"
                f"To: <sip:{user}@{host}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
                f"Contact: <sip:{user}@{self.addr[0]}:{self.addr[1]}>\r\nExpires: {expires}\r\n"
                f"{auth}Content-Length: 0\r\n\r\n",
                registrar,
            )
            resp = self.wait_response(call_id, "REGISTER", 5)
            if resp.code not in (401, 407):
                return resp.code
            auth = _digest(resp, "REGISTER", uri, user, password)
        return resp.code


def _digest(challenge: Msg, method: str, uri: str, user: str, password: str) -> str:
    hdr = challenge.get("WWW-Authenticate") or challenge.get("Proxy-Authenticate")
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', hdr))
    realm, nonce = params["realm"], params["nonce"]

    def md5(s: str) -> str:
        return hashlib.md5(s.encode()).hexdigest()

    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"{method}:{uri}")
    fields = f'username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5'
    if "auth" in params.get("qop", "").split(","):
        cnonce, nc = secrets.token_hex(4), "00000001"
        response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        fields += f', qop=auth, nc={nc}, cnonce="{cnonce}"'
    else:
        response = md5(f"{ha1}:{nonce}:{ha2}")
    name = "Authorization" if challenge.code == 401 else "Proxy-Authorization"
    return f'{name}: Digest {fields}, response="{response}"\r\n'
