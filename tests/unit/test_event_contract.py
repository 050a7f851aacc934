"""The published event contract: what may cross a service boundary, and how it changes."""

from __future__ import annotations

import pytest
from marshmallow import fields

from events import ContractViolation, EventContract, Registry, registry
from events.fields import PayloadSchema

ENVELOPE = {
    "source": "mla",
    "notification_id": 7,
    "originator_id": "b5b8b4a6-2f4c-4d55-9b40-6cc3b52cb6c9",
    "originator_version": 1,
    "recorded_at": "2026-11-28T10:00:00.000000Z",
}
MLA_EXPECTED = {
    "follow_up_id": "f1",
    "case_id": "c1",
    "order_id": "o1",
    "direction": "incoming",
    "due_by": "2027-01-27T10:00:00Z",
}


def test_event_round_trips_through_the_wire_form():
    wire = registry.encode(event="MlaExpected", payload=MLA_EXPECTED, **ENVELOPE)
    message = registry.decode(wire)
    assert message.event == "MlaExpected" and message.version == 1
    assert message.payload == {**MLA_EXPECTED, "request_id": None}  # optional, defaulted
    assert message.notification_id == 7


def test_producer_cannot_publish_an_event_it_does_not_own():
    with pytest.raises(ContractViolation, match="belongs to"):
        registry.encode(
            event="MlaExpected", payload=MLA_EXPECTED, **{**ENVELOPE, "source": "intake"}
        )


def test_invalid_payload_is_refused_on_both_sides():
    bad = {**MLA_EXPECTED, "direction": "sideways"}
    with pytest.raises(ContractViolation) as raised:
        registry.encode(event="MlaExpected", payload=bad, **ENVELOPE)
    assert "direction" in raised.value.errors
    wire = {**ENVELOPE, "event": "MlaExpected", "version": 1, "payload": bad}
    with pytest.raises(ContractViolation):
        registry.decode(wire)


@pytest.mark.parametrize(
    "body",
    [
        "not an object",
        {**ENVELOPE, "event": "NoSuchEvent", "version": 1, "payload": {}},
        {**ENVELOPE, "event": "MlaExpected", "version": 1},  # no payload
        {**ENVELOPE, "event": "MlaExpected", "version": 2, "payload": MLA_EXPECTED},  # too new
        {**ENVELOPE, "event": "MlaExpected", "version": 1, "payload": {**MLA_EXPECTED, "x": 1}},
        {**ENVELOPE, "notification_id": 0, "event": "MlaExpected", "version": 1, "payload": {}},
    ],
)
def test_consumer_rejects_what_the_contract_does_not_allow(body):
    with pytest.raises(ContractViolation):
        registry.decode(body)


def test_old_versions_are_upcast_to_the_current_one():
    class Greeting(PayloadSchema):
        text = fields.String(required=True)
        language = fields.String(required=True)

    contract = EventContract(
        name="Greeting",
        version=2,
        source="intake",
        schema=Greeting,
        description="test only",
        upcasters={1: lambda payload: {**payload, "language": "en"}},
    )
    local = Registry([contract])
    old = {
        **ENVELOPE,
        "source": "intake",
        "event": "Greeting",
        "version": 1,
        "payload": {"text": "hello"},
    }
    message = local.decode(old)
    assert message.version == 2
    assert message.payload == {"text": "hello", "language": "en"}


def test_every_contract_names_its_producer_and_meaning():
    for contract in registry:
        assert contract.source in {"intake", "preservation", "isp_liaison", "mla", "notification"}
        assert contract.description.endswith(".")
        assert contract.version >= 1


def test_published_catalogue_is_current():
    """docs/events.md is generated; regenerate it with `make events-doc`."""
    from pathlib import Path

    from cp247.cli import main

    target = Path(__file__).resolve().parents[2] / "docs" / "events.md"
    rendered = target.with_name("events.rendered.tmp")
    try:
        assert main(["events-doc", "--output", str(rendered)]) == 0
        assert rendered.read_text() == target.read_text()
    finally:
        rendered.unlink(missing_ok=True)
