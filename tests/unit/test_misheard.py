"""Misheard office words put back together (appliance/assistants/misheard.py)."""

from __future__ import annotations

import pytest

from appliance.assistants.misheard import OfficeWords, sound_key

_WORDS = OfficeWords(
    [
        "The Basic package costs 49 dollars per month.",
        "For rent: a 1 bedroom apartment at Riverside Court.",
        "We work in Springfield and up to 20 miles around.",
        "Do you work in Shelbyville?",
        "Open Monday to Friday and on Saturday until noon.",
        "The Business plan has reports; medication questions go to the doctor.",
    ],
    ["new circuit price", "refunds", "appointment times", "prescription pickup"],
)


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("how much is the bay sick package a month", "how much is the Basic package a month"),
        ("how much do you charge for a new ser kit", "how much do you charge for a new circuit"),
        ("do you guys work in shelby vil", "do you guys work in Shelbyville"),
        ("what's the price of the busy ness plan", "what's the price of the Business plan"),
        ("the one bed room at river side court", "the one bed room at Riverside court"),
        ("when dew i get my re fund", "when dew i get my refund"),
        ("are you open on satur day?", "are you open on Saturday?"),
    ],
)
def test_split_office_words_are_put_back_together(heard: str, meant: str) -> None:
    assert _WORDS.repair(heard) == meant


@pytest.mark.parametrize(
    "said",
    [
        "Can I get an appointment at 7 in the evening?",  # not "appointment" for "appointment at"
        "How much will my medication cost?",  # not "medication" for "my medication"
        "How long is each appointment slot?",
        "How much is the Basic package a month?",
        "Is the apartment at Riverside Court free?",
        "",
    ],
)
def test_words_heard_right_stay_as_they_were(said: str) -> None:
    assert _WORDS.repair(said) == said


def test_sounds_alike_share_a_key() -> None:
    assert sound_key("baysick") == sound_key("basic") == "bsk"
    assert sound_key("serkit") == sound_key("circuit")
    assert sound_key("busyness") == sound_key("business")
    assert sound_key("premium") != sound_key("parking")
