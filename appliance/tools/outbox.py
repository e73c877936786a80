"""The courier: delivers the store's outbox (new tickets and leads) to the office's systems.

Each due row is sent to its target ('smtp' or 'webhook:<name>'); a failure is recorded with
its reason and retried with back-off (30 s, doubling, at most an hour), forever: a notice waits
in the store until the receiver or the box comes back. A target no longer in the config is
retried too (the technician may be fixing it) and says so in its error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from appliance.config.integrations import Integrations
from appliance.tools import notify

_LOGGER = logging.getLogger(__name__)
FIRST_RETRY_S = 30.0
MAX_RETRY_S = 3600.0
POLL_S = 2.0


class Outbox(Protocol):
    def outbox_due(self, now: float) -> list[dict[str, Any]]: ...
    def outbox_done(self, outbox_id: int, *, error: str = "", retry_at: float = 0.0) -> None: ...


@dataclass(frozen=True)
class Delivery:
    target: str
    what: str  # "ticket 1001", "lead 3"
    error: str = ""


def retry_after(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones (1 -> 30 s, 2 -> 60 s, ...)."""
    return float(min(FIRST_RETRY_S * 2.0 ** max(0, attempts - 1), MAX_RETRY_S))


def send(target: str, kind: str, record: dict[str, Any], integrations: Integrations) -> None:
    """Deliver one notice (a ticket or a lead) to one target; DeliveryError when it did not
    arrive."""
    ticket = kind == "ticket"
    if target == "smtp":
        if integrations.smtp is None:
            raise notify.DeliveryError("no mail server configured (integrations.smtp)")
        mail = notify.ticket_mail(record) if ticket else notify.lead_mail(record)
        notify.send_mail(integrations.smtp, *mail)
        return
    name = target.removeprefix("webhook:")
    hook = integrations.webhook(name)
    if hook is None:
        raise notify.DeliveryError(f"no webhook named {name!r} in integrations.webhooks")
    notify.post_json(hook, notify.ticket_json(record) if ticket else notify.lead_json(record))


def label(kind: str, record: dict[str, Any]) -> str:
    return f"ticket {record['number']}" if kind == "ticket" else f"lead {record['id']}"


class Courier:
    """Delivers due notices: `deliver_due()` once (tests, `voicebox integrations deliver`), or
    `start()` a thread that does it every `POLL_S` (the daemon)."""

    def __init__(
        self,
        outbox: Outbox,
        integrations: Callable[[], Integrations],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`integrations`: the current config's (the daemon adopts a reloaded config)."""
        self.outbox = outbox
        self.integrations = integrations
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def deliver_due(self) -> list[Delivery]:
        out = []
        for row in self.outbox.outbox_due(self.clock()):
            record = row["record"]
            if record is None:  # cannot happen with the store's foreign keys; never loop on it
                self.outbox.outbox_done(row["id"], error="record missing", retry_at=1e18)
                continue
            what = label(row["kind"], record)
            try:
                send(row["target"], row["kind"], record, self.integrations())
            except notify.DeliveryError as err:
                wait = retry_after(row["attempts"] + 1)
                self.outbox.outbox_done(row["id"], error=str(err), retry_at=self.clock() + wait)
                _LOGGER.warning(
                    "%s to %s not delivered (%s); next try in %.0f s", what, row["target"], err,
                    wait,
                )  # fmt: skip
                out.append(Delivery(row["target"], what, str(err)))
                continue
            self.outbox.outbox_done(row["id"])
            _LOGGER.info("%s delivered to %s", what, row["target"])
            out.append(Delivery(row["target"], what))
        return out

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self.deliver_due()
            except Exception:  # the store went away, a bug: logged, the loop goes on
                _LOGGER.exception("outbox: delivery round failed")
