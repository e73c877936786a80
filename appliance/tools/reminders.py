"""Reminder calls (opt-in: integrations.calendar.reminders.enabled): the day before an
appointment the box booked, its assistant calls the number the caller booked from, reminds them,
and keeps, moves or cancels it as they say (appliance/tools/booking.py). The calendar stays the
record of appointments (one the staff moved or deleted is reminded as it is now, or not at
all); the store keeps one row per appointment called about (appliance/store/reminder_log.py):
called once, tried again when nobody answers, its result on record.

One reminder call at a time, only in the configured calling hours, through the running daemon
within its call limit (a full box: tried again a few minutes later).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from appliance.config import Config
from appliance.config.calendar import Reminders, office_zone
from appliance.errors import StoreError, VoiceboxError
from appliance.store import Store
from appliance.store.reminder_log import FINAL
from appliance.tools.booking import Calendar
from appliance.tools.calendar_client import Booked, CalendarError
from appliance.tools.contacts import digits

_LOGGER = logging.getLogger(__name__)
TICK_S = 30.0  # how often the calendar is looked at (in calling hours)
FIRST_TICK_S = 5.0  # the first look, after the daemon started
BUSY_RETRY_S = 300.0  # the box was full: the next try
STATE_OF = {"cancel": "cancelled", "move": "moved", "keep": "kept"}


@dataclass
class CallResult:
    """What became of one reminder call."""

    conversation_id: str
    answered: bool  # someone picked up (media flowed)
    turns: int  # caller turns
    results: list[str]  # calendar actions the call confirmed: keep | move | cancel
    reason: str  # how the call ended


Place = Callable[[str, str, Booked, Callable[[CallResult], None]], str]
"""place(uri, assistant, appointment, when_done) -> call key; raises VoiceboxError when the
call cannot be placed now (the box is full, SIP is down)."""


def dial_uri(number: str, rem: Reminders, cfg: Config) -> str:
    """The SIP address a caller's number is dialled at: the dial pattern, else the number at
    the first account's registrar ("" when there is neither)."""
    if rem.dial:
        return rem.dial.replace("{number}", number)
    if cfg.sip.accounts:
        return f"sip:{number}@{cfg.sip.accounts[0].registrar}"
    return ""


def state_of(result: CallResult) -> str:
    """The reminder's state after a call: kept / moved / cancelled, "no decision" (answered,
    nothing decided), or "no answer"."""
    for action in reversed(result.results):
        if action in STATE_OF:
            return STATE_OF[action]
    return "no decision" if result.answered and result.turns > 0 else "no answer"


class ReminderCalls:
    """Finds the appointments due for a reminder call and places the calls, one at a time."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        calendar: Callable[[], Calendar | None],
        place: Place,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self.calendar = calendar
        self.place = place
        self.now = now
        self.active = ""  # the appointment whose reminder call is in progress
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the daemon's thread ----------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="reminders", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        wait = FIRST_TICK_S
        while not self._stop.wait(wait):
            wait = TICK_S
            try:
                self.tick()
            except Exception:  # a bug must not end the reminders for good
                _LOGGER.exception("reminders: tick failed")

    # -- one look at the calendar -----------------------------------------------------------

    def tick(self) -> str:
        """Place the next due reminder call, if any; returns its appointment's uid ("")."""
        cfg = self.config()
        server = cfg.integrations.calendar
        cal = self.calendar()
        if server is None or cal is None or not server.reminders.enabled:
            return ""
        rem = server.reminders
        zone = office_zone(cfg.team.timezone)
        now = datetime.fromtimestamp(self.now(), zone)
        with self._lock:
            if self.active or not rem.may_call(now):
                return ""
        day = datetime.combine(now.date() + timedelta(days=rem.days_before), datetime.min.time(),
                               zone)  # fmt: skip
        try:
            events = cal.events(day, day + timedelta(days=1))
        except CalendarError as err:
            _LOGGER.warning("reminders: cannot read the calendar (%s): %s", err.kind, err)
            return ""
        for b in sorted(events, key=lambda e: e.start):
            if b.start.date() == day.date() and self._due(b, rem):
                return self._call(b, rem, cfg)
        return ""

    def _due(self, b: Booked, rem: Reminders) -> bool:
        """An appointment the box booked (it has a type and a number) not yet called about, or
        whose last attempt went unanswered long enough ago."""
        if not b.kind or not digits(b.phone):
            return False
        row = self.store.reminder(b.uid)
        if row is None:
            return True
        if row["state"] in FINAL or row["attempts"] >= rem.attempts:
            return False
        return float(row["next_at"]) <= self.now()  # no answer, busy, or cut by a restart

    def _call(self, b: Booked, rem: Reminders, cfg: Config) -> str:
        uri = dial_uri(re.sub(r"[^\d+]", "", b.phone), rem, cfg)  # "+49 30 555" -> +4930555
        if not uri:
            _LOGGER.error("reminders: no SIP account nor dial pattern to call %s", b.uid)
            return ""
        with self._lock:
            self.active = b.uid
        try:
            key = self.place(uri, rem.assistant, b, lambda r: self.finished(b.uid, r))
        except VoiceboxError as err:
            with self._lock:
                self.active = ""
            _LOGGER.info("reminders: call for %s not placed now: %s", b.uid, err)
            return ""
        try:
            attempt = self.store.reminder_calling(
                b.uid, kind=b.kind, who=b.who, phone=b.phone, starts_at=b.start.isoformat()
            )
        except StoreError as err:  # the call goes on; its result is written if the store is back
            _LOGGER.error("reminders: %s", err)
            attempt = 0
        _LOGGER.info("reminders: call %s to remind of %s (attempt %d)", key, b.uid, attempt)
        return b.uid

    def finished(self, uid: str, result: CallResult) -> None:
        """A reminder call ended: its result on record (a busy box or no answer: due again)."""
        state = state_of(result)
        rem = self.config().integrations.calendar
        wait = (rem.reminders.retry_min if rem else 60) * 60.0
        if state == "no answer" and "call limit" in result.reason:
            state, wait = "busy", BUSY_RETRY_S
        next_at = self.now() + wait if state in ("no answer", "busy") else 0.0
        self.store.reminder_done(
            uid, state=state, conversation_id=result.conversation_id, detail=result.reason,
            next_at=next_at, refund=state == "busy",  # a full box is no attempt
        )  # fmt: skip
        _LOGGER.info("reminders: %s: %s (%s)", uid, state, result.reason)
        with self._lock:
            if self.active == uid:
                self.active = ""
