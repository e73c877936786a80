"""One account's registration: its state as events, retries with back-off, no crash loop.

pjsua's own retry is off (retryIntervalSec = 0): after a failure the next REGISTER goes out after
retry_min_s, doubling up to retry_max_s; a rejected password waits retry_max_s at once (a PBX that
sees a wrong password hammered may ban the address). Refreshes before expiry are pjsua's, so a
restarted PBX learns the box again within `expires_s`.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from appliance.config.sip import Sip, SipAccount
from appliance.sip.endpoint import SipEndpoint
from appliance.sip.events import RegistrationResult, RegState
from appliance.sip.legs import Report

_LOGGER = logging.getLogger(__name__)
AUTH_CODES = (401, 403, 407)


def reg_state(code: int, expires: int) -> RegState:
    if 200 <= code < 300:
        return "registered" if expires > 0 else "unregistered"
    if code in AUTH_CODES:
        return "auth_failed"
    return "failed"


class Registration:
    def __init__(
        self,
        settings: SipAccount,
        sip: Sip,
        ep: SipEndpoint,
        account: Any,
        report: Report,
    ) -> None:
        self.settings = settings
        self.sip = sip
        self.ep = ep
        self.account = account
        self.report = report
        self.state: RegState | Literal["registering"] = "registering"
        self.failures = 0
        self._stopped = False
        self._retry_due = False

    def next_delay(self) -> float:
        if self.state == "auth_failed":
            return self.sip.retry_max_s
        return float(min(self.sip.retry_min_s * 2 ** (self.failures - 1), self.sip.retry_max_s))

    def on_result(self, code: int, reason: str, expires: int) -> None:
        state = reg_state(code, expires)
        if state == "registered":
            self.failures = 0
        elif state in ("failed", "auth_failed"):
            self.failures += 1
        changed = state != self.state
        self.state = state
        retry_in_s: float | None = None
        if state in ("failed", "auth_failed") and not self._stopped:
            retry_in_s = delay = self.next_delay()
            if not self._retry_due:
                self._retry_due = True
                self.ep.call_later(delay, self._retry)
        self.report(
            RegistrationResult(
                account=self.settings.aor,
                state=state,
                code=code,
                reason=reason,
                retry_in_s=retry_in_s,
                # a refresh: a restarted PBX learns the box again
                refresh=(not changed) if state == "registered" else None,
            )
        )
        if changed or state != "registered":
            log = _LOGGER.info if state == "registered" else _LOGGER.warning
            log("registration %s: %s (%d %s)", self.settings.aor, state, code, reason)

    def _retry(self) -> None:
        self._retry_due = False
        if self._stopped:
            return
        try:
            self.account.setRegistration(True)
        except Exception as err:  # e.g. the transport is gone: try again later
            _LOGGER.warning("registration %s: retry failed: %s", self.settings.aor, err)
            self.on_result(503, str(err), 0)

    def stop(self) -> None:
        self._stopped = True
