"""`voicebox integrations check` and the TUI's "test connections": each configured office system
(calendar, address book, mail server, webhooks) asked once, with what happened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from appliance.config.integrations import CardDav, Integrations
from appliance.tools import notify
from appliance.tools.calendar_client import CalendarError
from appliance.tools.contacts import ContactsError, read_file


def _check_book(path: Path) -> str:
    try:
        found = read_file(path)
    except ContactsError as err:
        raise notify.DeliveryError(str(err)) from err
    return f"{len(found)} contact(s) with a phone number in {path}"


def _check_carddav(book: object) -> str:
    from appliance.tools.carddav import fetch

    assert isinstance(book, CardDav)
    try:
        found = fetch(book)
    except ContactsError as err:
        raise notify.DeliveryError(str(err)) from err
    return f"{len(found)} contact(s) with a phone number in {book.url}"


def check_all(integrations: Integrations) -> list[tuple[str, bool, str]]:
    """Each configured integration: (name, works, what happened)."""
    checks: list[tuple[str, Callable[[], str]]] = []
    smtp = integrations.smtp
    if smtp is not None:
        checks.append(("smtp", lambda: notify.check_mail(smtp)))
    book = integrations.contacts
    if book is not None:
        if book.carddav is not None:
            checks.append(("contacts", lambda: _check_carddav(book.carddav)))
        else:
            checks.append(("contacts", lambda: _check_book(Path(book.file))))
    cal = integrations.calendar
    if cal is not None:
        from appliance.config.calendar import office_zone
        from appliance.tools.calendar_client import CalDavCalendar

        checks.append(("calendar", lambda: CalDavCalendar(cal, office_zone("")).check()))
    for hook in integrations.webhooks:
        checks.append((f"webhook:{hook.name}", lambda h=hook: notify.check_webhook(h)))  # type: ignore[misc]
    out = []
    for name, check in checks:
        try:
            out.append((name, True, check()))
        except (notify.DeliveryError, CalendarError) as err:
            out.append((name, False, str(err)))
    return out
