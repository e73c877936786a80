"""contacts: a known caller is looked up by caller id in the office's address book file (CSV or
vCard, `integrations.contacts.file`), greeted by name, and the name and company slots are
filled so the front desk does not ask again.

A CSV has a header row with `name`, `phone` and optionally `company` (several numbers in one
cell separated by `;` or `|`); a vCard file has FN (or N), ORG and TEL lines. Numbers match on
their digits: equal, or the longer one ends with the shorter one of at least 7 digits (a
caller id with or without the country or area code). The file is read again when it changes; a
missing or broken file is logged and nobody is known (calls are answered as before).
"""

from __future__ import annotations

import csv
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

_LOGGER = logging.getLogger(__name__)
MIN_DIGITS = 7
HELLO = {
    "en": "Hello {name}, good to hear from you.",
    "de": "Hallo {name}, schön von Ihnen zu hören.",
}


class ContactsError(Exception):
    """The address book file cannot be read; the text says why and where."""


@dataclass(frozen=True)
class Contact:
    name: str
    company: str
    numbers: tuple[str, ...]  # digits only


def hello(name: str, language: str) -> str:
    return HELLO.get(language, HELLO["en"]).format(name=name)


def digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def same_number(a: str, b: str) -> bool:
    if not a or not b:
        return False
    short, long_ = sorted((a, b), key=len)
    return short == long_ or (len(short) >= MIN_DIGITS and long_.endswith(short))


def _numbers(cell: str) -> tuple[str, ...]:
    return tuple(d for d in (digits(p) for p in re.split(r"[;|]", cell)) if len(d) >= 3)


def read_csv(path: Path) -> list[Contact]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = [h.strip().lower() for h in reader.fieldnames or []]
        if "name" not in header or "phone" not in header:
            raise ContactsError(f"{path}: the header row needs the columns name and phone")
        out = []
        for row in reader:
            cells = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            numbers = _numbers(cells.get("phone", ""))
            if cells.get("name") and numbers:
                out.append(Contact(cells["name"], cells.get("company", ""), numbers))
        return out


def _unfold(text: str) -> list[str]:
    return re.sub(r"\r?\n[ \t]", "", text).splitlines()


def read_vcards(text: str, where: str = "vCard") -> list[Contact]:
    """Contacts of a vCard text (one or more BEGIN:VCARD ... END:VCARD)."""
    out: list[Contact] = []
    card: dict[str, list[str]] | None = None
    for line in _unfold(text):
        key, _, value = line.partition(":")
        prop = key.split(";")[0].split(".")[-1].upper()
        if prop == "BEGIN" and value.strip().upper() == "VCARD":
            card = {}
        elif prop == "END" and card is not None:
            name = (card.get("FN") or [""])[0]
            if not name and card.get("N"):
                last, first, *_ = [*card["N"][0].split(";"), "", ""]
                name = f"{first} {last}".strip()
            numbers = tuple(d for d in (digits(t) for t in card.get("TEL", [])) if len(d) >= 3)
            if name and numbers:
                company = (card.get("ORG") or [""])[0].split(";")[0]
                out.append(Contact(name.replace("\\,", ","), company.replace("\\,", ","), numbers))
            card = None
        elif card is not None and prop in ("FN", "N", "ORG", "TEL"):
            card.setdefault(prop, []).append(value.strip().removeprefix("tel:"))
    if not out and "BEGIN:VCARD" not in text.upper():
        raise ContactsError(f"{where}: no vCard in it (BEGIN:VCARD ... END:VCARD)")
    return out


def read_file(path: Path) -> list[Contact]:
    try:
        if path.suffix.lower() in (".vcf", ".vcard"):
            return read_vcards(path.read_text(encoding="utf-8"), str(path))
        if path.suffix.lower() == ".csv":
            return read_csv(path)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ContactsError(f"cannot read the address book {path}: {err}") from err
    raise ContactsError(f"{path}: an address book is a .csv or a .vcf file")


class Directory:
    """The address book, read again when its file changes (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[float, int] | None = None
        self._contacts: list[Contact] = []
        self.error = ""

    def contacts(self) -> list[Contact]:
        with self._lock:
            try:
                st = self.path.stat()
                stamp = (st.st_mtime, st.st_size)
                if stamp != self._stamp:
                    self._contacts, self._stamp, self.error = read_file(self.path), stamp, ""
            except (OSError, ContactsError) as err:
                if str(err) != self.error:
                    _LOGGER.error("contacts: %s; no caller is known by name", err)
                self._contacts, self._stamp, self.error = [], None, str(err)
            return self._contacts

    def find(self, number: str) -> Contact | None:
        """The contact with this caller number, if exactly one person has it."""
        want = digits(number)
        found = {c for c in self.contacts() if any(same_number(want, n) for n in c.numbers)}
        return found.pop() if len(found) == 1 else None
