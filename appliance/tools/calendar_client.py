"""The office calendar over CalDAV (the `caldav` library; the only module that imports it).

Every appointment the box books is one event: SUMMARY "<type>: <name>", the caller's number in
X-VOICEBOX-PHONE, the type in X-VOICEBOX-TYPE and the buffer after it in X-VOICEBOX-BUFFER.
Events the staff put in the calendar themselves are busy time like the box's own. Every failure
(server down, a timeout, a wrong password, a refused write) is a CalendarError with a kind the
caller-facing code turns into an apology and a fallback, never into silence.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from appliance.config.calendar import CalendarServer
from appliance.errors import VoiceboxError

_LOGGER = logging.getLogger(__name__)


class CalendarError(VoiceboxError):
    """The calendar server could not be used; `kind`: down | auth | timeout | missing | error."""

    code = "calendar"

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Booked:
    """One event on the calendar (the box's own appointments carry kind, who and phone)."""

    uid: str
    start: datetime
    end: datetime
    kind: str = ""
    who: str = ""
    phone: str = ""
    buffer_min: int = 0

    @property
    def busy_until(self) -> datetime:
        return self.end + timedelta(minutes=self.buffer_min)


def _kind_of(err: Exception) -> str:
    from caldav.lib import error as dav_error

    if isinstance(err, dav_error.AuthorizationError):
        return "auth"
    if isinstance(err, dav_error.NotFoundError):
        return "missing"
    name = type(err).__name__.lower()
    if "timeout" in name:
        return "timeout"
    if isinstance(err, OSError) or "connection" in name:
        return "down"
    return "error"


PLAIN = {
    "auth": "the server refused the login (user or password wrong)",
    "down": "the server does not answer (not running, wrong address or port)",
    "timeout": "the server took too long to answer",
    "missing": "the address or the calendar was not found on the server",
}


def _plain(err: Exception, kind: str) -> str:
    """What went wrong, said for a technician (the library's text goes to the log)."""
    found = re.search(r"\[Errno \d+\] ([^'\")]+)", str(err))  # "Connection refused"
    said = PLAIN.get(kind) or str(err).splitlines()[0][:160]
    return f"{said} ({found.group(1).strip()})" if found else said


class CalDavCalendar:
    """The office calendar on a CalDAV server; thread-safe (one request at a time)."""

    def __init__(self, server: CalendarServer, zone: tzinfo) -> None:
        self.server = server
        self.zone = zone
        self._lock = threading.Lock()
        self._calendar: Any = None
        self._hrefs: dict[str, str] = {}  # uid -> the event's address (a GET, not a search)

    # -- the connection ---------------------------------------------------------------------

    def _open(self) -> Any:
        if self._calendar is not None:
            return self._calendar
        import caldav

        s = self.server
        make: Any = caldav.DAVClient  # (its stubs type the class as object)
        client = make(
            url=s.url,
            username=s.username or None,
            password=s.password.get_secret_value() or None,
            timeout=s.timeout_s,
        )
        calendars = client.principal().calendars()
        if not calendars:
            raise CalendarError(f"{s.url}: the account has no calendar", "missing")
        chosen = calendars[0]
        if s.calendar:
            chosen = next((c for c in calendars if self._named(c, s.calendar)), None)
            if chosen is None:
                raise CalendarError(f"{s.url}: no calendar named {s.calendar!r}", "missing")
        self._calendar = chosen
        return chosen

    @staticmethod
    def _named(cal: Any, name: str) -> bool:
        tail = str(cal.url).rstrip("/").rsplit("/", 1)[-1]
        try:
            shown = cal.get_display_name() or ""
        except Exception:  # a server without display names: the address decides
            shown = ""
        return name in (tail, shown)

    def _call(self, what: str, fn: Any) -> Any:
        with self._lock:
            try:
                return fn(self._open())
            except CalendarError:
                raise
            except Exception as err:
                self._calendar = None  # connect again next time
                kind = _kind_of(err)
                _LOGGER.error("calendar %s: %s failed (%s): %s", self.server.url, what, kind, err)
                plain = _plain(err, kind)
                raise CalendarError(f"calendar {self.server.url}: {what}: {plain}", kind) from err

    # -- reading ----------------------------------------------------------------------------

    def _booked(self, event: Any) -> Booked | None:
        comp = event.icalendar_component
        start = comp.get("dtstart")
        if start is None:
            return None
        s = start.dt
        end_prop = comp.get("dtend")
        if not isinstance(s, datetime):  # an all-day event: busy the whole day
            s = datetime.combine(s, datetime.min.time(), self.zone)
            e = s + timedelta(days=1)
        else:
            s = s if s.tzinfo else s.replace(tzinfo=self.zone)
            e = end_prop.dt if end_prop is not None else s + timedelta(hours=1)
            if not isinstance(e, datetime):
                e = datetime.combine(e, datetime.min.time(), self.zone)
            e = e if e.tzinfo else e.replace(tzinfo=self.zone)
        uid = str(comp.get("uid", ""))
        if getattr(event, "url", None) is not None:
            self._hrefs[uid] = str(event.url)
        return Booked(
            uid=uid,
            start=s.astimezone(self.zone),
            end=e.astimezone(self.zone),
            kind=str(comp.get("x-voicebox-type", "")),
            who=str(comp.get("x-voicebox-who", "")),
            phone=str(comp.get("x-voicebox-phone", "")),
            buffer_min=int(str(comp.get("x-voicebox-buffer", "0")) or 0),
        )

    def events(self, start: datetime, end: datetime) -> list[Booked]:
        """Every event overlapping [start, end) (recurring ones expanded), by start."""

        def search(cal: Any) -> list[Booked]:
            found = cal.search(start=start, end=end, event=True, expand=True)
            out = [b for b in (self._booked(e) for e in found) if b is not None]
            return sorted(out, key=lambda b: b.start)

        result: list[Booked] = self._call("reading free and busy times", search)
        return result

    def _event(self, cal: Any, uid: str) -> Any:
        """The event by its known address (one GET), else by a search for its UID."""
        href = self._hrefs.get(uid)
        return cal.event_by_url(href) if href else cal.get_event_by_uid(uid)

    def get(self, uid: str) -> Booked | None:
        def read(cal: Any) -> Booked | None:
            from caldav.lib.error import NotFoundError

            try:
                return self._booked(self._event(cal, uid))
            except NotFoundError:
                self._hrefs.pop(uid, None)
                return None

        found: Booked | None = self._call("reading an appointment", read)
        return found

    def check(self) -> str:
        """Log in and read the next week, as a booking would; what was found."""
        now = datetime.now(self.zone)
        n = len(self.events(now, now + timedelta(days=7)))
        url = str(self._calendar.url) if self._calendar is not None else self.server.url
        return f"calendar {url} answers ({n} event(s) in the next 7 days)"

    # -- writing ----------------------------------------------------------------------------

    def book(
        self,
        kind: str,
        start: datetime,
        end: datetime,
        *,
        who: str,
        phone: str,
        buffer_min: int,
        note: str,
    ) -> Booked:
        """Write a new appointment; what the server holds afterwards (read back)."""
        uid = f"voicebox-{uuid.uuid4().hex}"

        def write(cal: Any) -> None:
            event = cal.save_event(
                dtstart=start,
                dtend=end,
                uid=uid,
                summary=f"{kind}: {who}".strip(": "),
                description=note,
                x_voicebox_type=kind,
                x_voicebox_who=who,
                x_voicebox_phone=phone,
                x_voicebox_buffer=str(buffer_min),
            )
            if getattr(event, "url", None) is not None:
                self._hrefs[uid] = str(event.url)

        self._call("booking", write)
        return self._read_back(uid)

    def move(self, uid: str, start: datetime, end: datetime) -> Booked:
        def write(cal: Any) -> None:
            event = self._event(cal, uid)
            comp = event.icalendar_component
            for key, value in (("dtstart", start), ("dtend", end)):
                comp.pop(key, None)
                comp.add(key, value)
            comp.pop("duration", None)
            seq = int(comp.get("sequence", 0)) + 1
            comp.pop("sequence", None)
            comp.add("sequence", seq)
            event.save()

        self._call("moving an appointment", write)
        return self._read_back(uid)

    def cancel(self, uid: str) -> None:
        def delete(cal: Any) -> None:
            self._event(cal, uid).delete()

        self._call("cancelling an appointment", delete)
        if self.get(uid) is not None:
            raise CalendarError(f"calendar {self.server.url}: the appointment is still there")

    def _read_back(self, uid: str) -> Booked:
        found = self.get(uid)
        if found is None:
            raise CalendarError(f"calendar {self.server.url}: the write did not stick", "error")
        return found
