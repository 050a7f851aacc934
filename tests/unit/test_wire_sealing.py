"""Personal fields sealed on the wire: what the relay publishes and the catch-up RPC answers
holds no identifier in clear; the consumer opens it with the shared vault; erasure reaches a
message still queued; a sealed value moved to another case is refused, not applied."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from slice_driver import address_for, preservation_request

from cp247.runtime.inbox import Inbox
from events import ContractViolation
from services.intake.app import IntakeApplication
from services.notification.app import NotificationApplication

ACTOR = {"username": "pat", "role": "prosecution"}


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.popo",
        "CP247_CASE_KEYS_MASTER": base64.b64encode(os.urandom(32)).decode(),
        "CP247_CASE_KEYS": f"sqlite:{tmp_path / 'case-keys.sqlite'}",
    }


@pytest.fixture
def intake(env) -> IntakeApplication:
    return IntakeApplication(env=env)


def received(app: IntakeApplication, wire: bool) -> dict[str, Any]:
    bodies = app.wire_outbox(1, 100) if wire else app.outbox(1, 100)
    return next(b for b in bodies if b.get("event") == "RequestReceived")


def test_personal_fields_are_sealed_in_every_message_on_the_wire(intake):
    intake.register_request(preservation_request("US-WIRE-1"), ACTOR)
    address = address_for("US-WIRE-1")
    wire = json.dumps(intake.wire_outbox(1, 100))
    assert address not in wire and "ransom note" not in wire
    plain = received(intake, wire=False)
    assert address in json.dumps(plain) and "ransom note" in json.dumps(plain)  # in process
    sealed = received(intake, wire=True)
    assert sealed["payload"]["identifiers"]["__sealed__"] == 1
    assert sealed["payload"]["case_id"] == plain["payload"]["case_id"]  # routing stays plain
    # The consumer, sharing the vault, reads exactly what was recorded.
    assert intake.decode(sealed) == intake.decode(plain)


def test_a_queued_message_reads_as_erased_once_the_case_key_is_destroyed(intake):
    case = intake.register_request(preservation_request("US-WIRE-2"), ACTOR)
    sealed = received(intake, wire=True)
    assert intake.mapper.vault.destroy(case["case_id"], "retention") is True
    message = intake.decode(sealed)
    assert message.payload["identifiers"] == [] and message.payload["case_id"] == case["case_id"]


def test_a_sealed_value_moved_to_another_case_is_dead_lettered(intake, env):
    intake.register_request(preservation_request("US-WIRE-3"), ACTOR)
    other = intake.register_request(preservation_request("US-WIRE-4"), ACTOR)
    sealed = received(intake, wire=True)
    moved = {**sealed, "payload": {**sealed["payload"], "case_id": other["case_id"]}}
    with pytest.raises(ContractViolation, match="does not open"):
        intake.decode(moved)
    letters: list[tuple[Any, str, str]] = []
    notification = NotificationApplication(env=env)
    inbox = Inbox(notification, "intake", intake.wire_outbox, lambda *a: letters.append(a))
    inbox.receive(moved)
    assert len(letters) == 1 and "does not open" in letters[0][1]
    assert notification.position("intake") == 0  # nothing of it applied


def test_the_inbox_applies_sealed_messages_pushed_and_pulled(intake, env):
    intake.register_request(preservation_request("US-WIRE-5"), ACTOR)
    notification = NotificationApplication(env=env)
    inbox = Inbox(notification, "intake", intake.wire_outbox, lambda *a: pytest.fail(str(a)))
    bodies = intake.wire_outbox(1, 100)
    inbox.receive(bodies[-1])  # the gap before it is pulled, sealed, from the producer
    assert notification.position("intake") == bodies[-1]["notification_id"]
    assert any(m.get("event") == "ReceiptAcknowledged" for m in notification.outbox(1, 100))


def test_a_message_published_before_sealing_still_applies(intake):
    intake.register_request(preservation_request("US-WIRE-6"), ACTOR)
    plain = received(intake, wire=False)  # as a relay of the previous version sent it
    assert intake.decode(plain).payload["identifiers"][0]["value"] == address_for("US-WIRE-6")


def test_private_bookkeeping_crosses_sealed_outboxes_as_its_position_only(intake, env):
    intake.register_request(preservation_request("SEAL-PRIV"), ACTOR)
    placeholders = [b for b in intake.wire_outbox(1, 100) if "event" not in b]
    assert placeholders and all(b.keys() == {"source", "notification_id"} for b in placeholders)
    notification = NotificationApplication(env=env)
    assert all(notification.decode(b).position_only for b in placeholders)
