"""contacts: the address book (CSV or vCard) finds a caller by caller id; a known caller is
greeted by name and the front desk has the name and company slots before the first turn."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fakes import ScriptedBrain
from fakes.engine import fake_engine

from appliance.config import parse_config
from appliance.tools.contacts import ContactsError, Directory, read_file, same_number

CSV = """name,company,phone
Anna Schmidt,Initech,+1 (555) 014-2000
Bo Ray,,555 0199; 555 0100
Nobody,,
"""
VCF = """BEGIN:VCARD\r
VERSION:3.0\r
FN:Carla Diaz\r
ORG:Diaz Bakery;Front shop\r
TEL;TYPE=work:+49 30 1234\r
 567\r
END:VCARD\r
BEGIN:VCARD\r
VERSION:4.0\r
N:Lee;Dan;;;\r
item1.TEL;VALUE=uri:tel:+1-555-0177\r
END:VCARD\r
"""


def test_csv_and_vcard_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "book.csv").write_text(CSV)
    (tmp_path / "book.vcf").write_text(VCF)
    people = read_file(tmp_path / "book.csv")
    assert [(c.name, c.company, c.numbers) for c in people] == [
        ("Anna Schmidt", "Initech", ("15550142000",)),
        ("Bo Ray", "", ("5550199", "5550100")),
    ]  # "Nobody" has no number: left out
    cards = read_file(tmp_path / "book.vcf")
    assert [(c.name, c.company, c.numbers) for c in cards] == [
        ("Carla Diaz", "Diaz Bakery", ("49301234567",)),  # a folded TEL line
        ("Dan Lee", "", ("15550177",)),
    ]


def test_numbers_match_with_or_without_country_and_area_code() -> None:
    assert same_number("5550142000", "15550142000")
    assert same_number("301234567", "49301234567")
    assert not same_number("0142000", "5550142001")
    assert not same_number("142000", "15550142000")  # 6 digits are too few to say who it is
    assert not same_number("", "5550100")


@pytest.mark.parametrize(
    ("text", "said"),
    [("name;phone\nAnn;555\n", "needs the columns name and phone"), ("hello", "no vCard")],
)
def test_a_broken_book_is_said_and_nobody_is_known(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / ("book.csv" if "phone" in text else "book.vcf")
    path.write_text(text)
    with pytest.raises(ContactsError, match=said):
        read_file(path)
    book = Directory(path)
    assert book.find("555") is None and said in book.error


def test_the_book_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "book.csv"
    path.write_text(CSV)
    book = Directory(path)
    assert book.find("5550199").name == "Bo Ray"  # type: ignore[union-attr]
    path.write_text("name,phone\nBob Ray-Smith,5550199\n")
    os.utime(path, (1, 1))  # a different stamp even within the same second
    assert book.find("5550199").name == "Bob Ray-Smith"  # type: ignore[union-attr]
    path.unlink()
    assert book.find("5550199") is None and "No such file" in book.error


def test_a_known_caller_is_greeted_by_name_and_not_asked_again(tmp_path: Path) -> None:
    (tmp_path / "book.csv").write_text(CSV)
    cfg = parse_config(
        {
            "team": {"entry": "frontdesk"},
            "assistants": [{"name": "frontdesk", "title": "Front desk", "system_prompt": "Hi.",
                            "greeting": "Thanks for calling Brightline, how can I help?"}],
            "integrations": {"contacts": {"file": str(tmp_path / "book.csv")}},
        }
    )  # fmt: skip
    seen: list[object] = []
    brain = ScriptedBrain(["Sure, Anna."])
    engine = fake_engine(cfg, brain, listeners=[seen.append])
    conv = engine.new_conversation(channel="sip", caller='"A" <sip:+15550142000@pbx.lan>')
    assert conv.start() == (
        "Hello Anna Schmidt, good to hear from you. Thanks for calling Brightline, how can I help?"
    )
    assert conv.slots == {"name": "Anna Schmidt", "company": "Initech"}
    conv.handle("I need help with an invoice.")
    notes = [m.content for m in brain.reply_calls[0].messages if m.role == "system"]
    assert any("Anna Schmidt" in n and "Initech" in n for n in notes)  # the model knows them
    stranger = engine.new_conversation(channel="sip", caller="<sip:5550111@pbx.lan>")
    assert stranger.start() == "Thanks for calling Brightline, how can I help?"
    assert stranger.slots == {}
