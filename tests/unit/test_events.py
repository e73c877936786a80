from __future__ import annotations

import json

from appliance.events import (
    EVENT_TYPES,
    HandoffStarted,
    RoutingDecided,
    event_from_dict,
)


def test_round_trip_through_json() -> None:
    e = HandoffStarted(
        "c1",
        turn=2,
        from_assistant="frontdesk",
        to_assistant="sales",
        announcement="One moment",
        reason="pricing",
        path="fast",
        scores={"sales": 0.9},
        history="full",
    )
    data = json.loads(e.to_json())
    assert data["type"] == "handoff"
    again = event_from_dict(data)
    assert again == e


def test_every_event_type_is_registered_once() -> None:
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES))
    assert EVENT_TYPES["routing"] is RoutingDecided


def test_unknown_type_is_rejected() -> None:
    try:
        event_from_dict({"type": "nope", "conversation_id": "x"})
    except ValueError as err:
        assert "nope" in str(err)
    else:
        raise AssertionError("accepted an unknown event type")
