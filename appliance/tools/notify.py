"""Sending one notice to an office system: a mail through the office mail server (SMTP,
optional STARTTLS and login) or a JSON POST to a webhook (optional HMAC-SHA256 signature).
Each raises `DeliveryError` with a readable reason; the outbox retries. `check_*` test a
connection without sending anything (`voicebox integrations check`, the TUI)."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from appliance.config.integrations import Smtp, Webhook

SIGNATURE_HEADER = "X-Voicebox-Signature"


class DeliveryError(Exception):
    """A notice could not be delivered (server down, refused, wrong password, timeout)."""


def ticket_mail(ticket: dict[str, Any]) -> tuple[str, str]:
    """The subject and body of a new-ticket mail."""
    urgent = ticket["urgency"] == "urgent"
    subject = f"{'URGENT ' if urgent else ''}Ticket {ticket['number']}: {ticket['summary'][:60]}"
    lines = [
        f"Ticket:     {ticket['number']}",
        f"Urgency:    {ticket['urgency']}",
        f"Caller:     {ticket['who'] or '(no name given)'}",
        f"Call back:  {ticket['callback'] or '(no number)'}",
        f"Problem:    {ticket['summary']}",
        f"Assistant:  {ticket['assistant']}",
        f"Transcript: voicebox calls show {ticket['conversation_id']}"
        f" (or the TUI's Calls tab, conversation {ticket['conversation_id']})",
    ]
    return subject, "\n".join(lines) + "\n"


def ticket_json(ticket: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "ticket",
        "number": ticket["number"],
        "urgency": ticket["urgency"],
        "name": ticket["who"],
        "callback": ticket["callback"],
        "summary": ticket["summary"],
        "assistant": ticket["assistant"],
        "conversation": ticket["conversation_id"],
        "transcript": f"voicebox calls show {ticket['conversation_id']}",
        "created_at": ticket["created_at"],
    }


def lead_mail(lead: dict[str, Any]) -> tuple[str, str]:
    """The subject and body of a new-lead mail."""
    who = lead["who"] or "(no name given)"
    subject = f"Lead: {who}{', ' + lead['company'] if lead['company'] else ''}: {lead['need'][:50]}"
    lines = [
        f"Name:       {who}",
        f"Company:    {lead['company'] or '-'}",
        f"Call back:  {lead['callback'] or '(no number)'}",
        f"Need:       {lead['need']}",
        f"Budget:     {lead['budget'] or '-'}",
        f"Urgency:    {lead['urgency'] or '-'}",
        f"Assistant:  {lead['assistant']}",
        f"Transcript: voicebox calls show {lead['conversation_id']}",
    ]
    return subject, "\n".join(lines) + "\n"


def lead_json(lead: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "lead",
        "name": lead["who"],
        "company": lead["company"],
        "callback": lead["callback"],
        "need": lead["need"],
        "budget": lead["budget"],
        "urgency": lead["urgency"],
        "assistant": lead["assistant"],
        "conversation": lead["conversation_id"],
        "transcript": f"voicebox calls show {lead['conversation_id']}",
        "created_at": lead["created_at"],
    }


def _connect(cfg: Smtp) -> smtplib.SMTP:
    try:
        server = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
    except (OSError, smtplib.SMTPException) as err:
        raise DeliveryError(f"mail server {cfg.host}:{cfg.port}: {err}") from err
    try:
        server.ehlo()
        if cfg.starttls:
            server.starttls(context=ssl.create_default_context())
            server.ehlo()
        if cfg.username:
            server.login(cfg.username, cfg.password.get_secret_value())
    except smtplib.SMTPAuthenticationError as err:
        server.close()
        raise DeliveryError(f"mail server {cfg.host}: login refused ({err.smtp_code})") from err
    except (OSError, smtplib.SMTPException, ssl.SSLError) as err:
        server.close()
        raise DeliveryError(f"mail server {cfg.host}:{cfg.port}: {err}") from err
    return server


def send_mail(cfg: Smtp, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = cfg.sender, ", ".join(cfg.to), subject
    msg.set_content(body)
    server = _connect(cfg)
    try:
        server.send_message(msg)
        server.quit()
    except (OSError, smtplib.SMTPException) as err:
        raise DeliveryError(f"mail server {cfg.host}: {err}") from err
    finally:
        server.close()


def check_mail(cfg: Smtp) -> str:
    """Connect, STARTTLS and log in as a delivery would; what the server said."""
    server = _connect(cfg)
    try:
        code, _ = server.noop()
        server.quit()
    except (OSError, smtplib.SMTPException) as err:
        raise DeliveryError(f"mail server {cfg.host}: {err}") from err
    finally:
        server.close()
    login = f", logged in as {cfg.username}" if cfg.username else ""
    tls = ", STARTTLS" if cfg.starttls else ""
    return f"mail server {cfg.host}:{cfg.port} answers ({code}{tls}{login})"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_json(hook: Webhook, payload: dict[str, Any]) -> int:
    """POST the payload; the HTTP status (2xx), else DeliveryError."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "voicebox"}
    secret = hook.secret.get_secret_value()
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    req = urllib.request.Request(hook.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=hook.timeout_s) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        raise DeliveryError(f"webhook {hook.name}: HTTP {err.code} {err.reason}") from err
    except (TimeoutError, urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DeliveryError(f"webhook {hook.name} ({hook.url}): {reason}") from err


def check_webhook(hook: Webhook) -> str:
    """Open a TCP connection to the receiver (nothing is posted)."""
    parts = urlsplit(hook.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=hook.timeout_s):
            pass
    except OSError as err:
        raise DeliveryError(f"webhook {hook.name} ({hook.url}): {err}") from err
    return f"webhook {hook.name}: {parts.hostname}:{port} accepts connections"
