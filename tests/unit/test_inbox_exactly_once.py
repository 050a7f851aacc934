"""Exactly-once, in-order consumption: duplicates, gaps and contract violations.

Real applications on the eventsourcing library's in-memory store; no broker.
"""

from __future__ import annotations

from typing import Any

import pytest
from slice_driver import preservation_request

from cp247.runtime.inbox import Inbox
from services.intake.app import IntakeApplication
from services.notification.app import NotificationApplication

ACTOR = {"username": "pat", "role": "prosecution"}
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


class DeadLetters(list):
    def __call__(self, body: Any, reason: str, consumer: str) -> None:
        self.append((body, reason, consumer))


@pytest.fixture
def pipeline():
    intake, notification = IntakeApplication(env=POPO), NotificationApplication(env=POPO)
    letters = DeadLetters()
    inbox = Inbox(notification, "intake", intake.outbox, letters)
    return intake, notification, inbox, letters


def receipts(notification: NotificationApplication) -> int:
    return sum(1 for m in notification.outbox(1, 1000) if m.get("event") == "ReceiptAcknowledged")


def test_gap_is_filled_from_the_producer_before_the_pushed_event(pipeline):
    intake, notification, inbox, _ = pipeline
    intake.register_request(preservation_request("A"), ACTOR)
    intake.register_request(preservation_request("B"), ACTOR)
    messages = intake.outbox(1, 100)
    last = messages[-1]["notification_id"]
    assert [m["notification_id"] for m in messages] == list(range(1, last + 1))
    inbox.receive(messages[-1])  # nothing before it ever arrived
    assert notification.position("intake") == last
    assert receipts(notification) == 2


def test_redelivered_event_changes_nothing(pipeline):
    intake, notification, inbox, _ = pipeline
    intake.register_request(preservation_request("A"), ACTOR)
    for message in intake.outbox(1, 10):
        inbox.receive(message)
    head = notification.outbox_head()
    for message in intake.outbox(1, 10):
        inbox.receive(message)
    assert notification.outbox_head() == head
    assert receipts(notification) == 1


def test_pushed_event_that_breaks_the_contract_is_dead_lettered_and_takes_no_place(pipeline):
    intake, notification, inbox, letters = pipeline
    intake.register_request(preservation_request("A"), ACTOR)
    forged = {**intake.outbox(1, 1)[0], "event": "NoSuchEvent", "payload": {}}
    inbox.receive(forged)
    assert notification.position("intake") == 0
    assert letters and "NoSuchEvent" in letters[0][1] and letters[0][2] == "notification"
    inbox.catch_up()  # the real events at those positions are still applied
    assert notification.position("intake") == intake.outbox_head()
    assert receipts(notification) == 1


def test_unreadable_event_in_the_producer_outbox_stops_the_upstream_loudly_once(pipeline):
    intake, notification, _, letters = pipeline
    intake.register_request(preservation_request("A"), ACTOR)

    def outbox_with_a_newer_event(start: int, limit: int) -> list[dict]:
        bodies = intake.outbox(start, limit)
        return [{**b, "version": 99} if b["notification_id"] == 2 else b for b in bodies]

    inbox = Inbox(notification, "intake", outbox_with_a_newer_event, letters)
    inbox.catch_up()
    inbox.catch_up()
    assert notification.position("intake") == 1  # stopped before the unreadable event
    assert len(letters) == 1  # reported once, not on every retry
