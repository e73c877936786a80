"""contacts from a CardDAV address book (Radicale, Nextcloud, a NAS) on the LAN: every vCard of
the book fetched with one REPORT addressbook-query, kept in memory and fetched again in the
background when older than `refresh_s`; a call never waits for the server (the first fetch
starts when the box starts). A server that fails keeps the contacts of the last good fetch
and logs why; `voicebox integrations check` fetches once and says how many it found."""

from __future__ import annotations

import base64
import logging
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

from appliance.config.integrations import CardDav
from appliance.tools.contacts import Contact, ContactsError, digits, read_vcards, same_number

_LOGGER = logging.getLogger(__name__)
QUERY = (
    b'<?xml version="1.0" encoding="utf-8"?><C:addressbook-query xmlns:D="DAV:" '
    b'xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/>'
    b"</D:prop></C:addressbook-query>"
)
_DATA = "{urn:ietf:params:xml:ns:carddav}address-data"


def fetch(book: CardDav) -> list[Contact]:
    """Every contact with a phone number in the address book; ContactsError on failure."""
    headers = {"Content-Type": "application/xml; charset=utf-8", "Depth": "1",
               "User-Agent": "voicebox"}  # fmt: skip
    if book.username:
        pair = f"{book.username}:{book.password.get_secret_value()}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    req = urllib.request.Request(book.url, data=QUERY, headers=headers, method="REPORT")
    try:
        with urllib.request.urlopen(req, timeout=book.timeout_s) as resp:
            body = resp.read()
    except urllib.error.HTTPError as err:
        why = "wrong user name or password" if err.code in (401, 403) else f"HTTP {err.code}"
        raise ContactsError(f"address book {book.url}: {why}") from err
    except (OSError, ValueError) as err:
        raise ContactsError(f"address book {book.url}: {err}") from err
    try:
        root = ET.fromstring(body)
    except ET.ParseError as err:
        raise ContactsError(f"address book {book.url}: not a CardDAV answer ({err})") from err
    cards = [el.text or "" for el in root.iter(_DATA)]
    if not cards:
        return []
    return read_vcards("\n".join(cards), book.url)


class CardDavDirectory:
    """The address book on a CardDAV server, as `Directory` offers a file (thread-safe)."""

    def __init__(self, book: CardDav, *, start: bool = True) -> None:
        self.book = book
        self._lock = threading.Lock()
        self._contacts: list[Contact] = []
        self._fetched = 0.0  # monotonic time of the last fetch (good or not)
        self._busy = False
        self.error = ""
        if start:
            self._refresh_soon()

    def _refresh_soon(self) -> None:
        with self._lock:
            if self._busy:
                return
            self._busy = True
        threading.Thread(target=self._refresh, name="carddav", daemon=True).start()

    def _refresh(self) -> None:
        try:
            found = fetch(self.book)
        except ContactsError as err:
            with self._lock:
                if str(err) != self.error:
                    _LOGGER.error("contacts: %s; keeping %d known callers", err,
                                  len(self._contacts))  # fmt: skip
                self.error, self._fetched, self._busy = str(err), time.monotonic(), False
            return
        with self._lock:
            self._contacts, self.error = found, ""
            self._fetched, self._busy = time.monotonic(), False

    def contacts(self) -> list[Contact]:
        """The contacts of the last fetch (a stale copy starts a fetch in the background)."""
        if time.monotonic() - self._fetched > self.book.refresh_s:
            self._refresh_soon()
        with self._lock:
            return self._contacts

    def wait(self, timeout: float) -> bool:
        """Wait for the first fetch (checks and tests); True when it finished."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._fetched:
                return True
            time.sleep(0.02)
        return False

    def find(self, number: str) -> Contact | None:
        want = digits(number)
        found = {c for c in self.contacts() if any(same_number(want, n) for n in c.numbers)}
        return found.pop() if len(found) == 1 else None
