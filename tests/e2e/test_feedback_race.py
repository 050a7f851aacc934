"""Feedback on an order and the request it answers reach notification from two services at
once: whichever way their processing interleaves, the requesting CP hears of the order."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from slice_driver import wait_for

from cp247.samples import preservation_request
from events import registry
from services.notification.app import NotificationApplication
from services.notification.domain import receipt_id_for


def outbox_message(app, event: str, request_id: str):
    for body in app.outbox(1, 1000):
        if body.get("event") == event and body["payload"].get("request_id") == request_id:
            return registry.decode(body)
    return None


def test_order_feedback_is_not_lost_when_the_receipt_lands_between_two_reads(embedded, tokens):
    api, _, platform = embedded
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("RACE-1")
    )
    assert status == 201, created
    request_id = created["request_id"]
    received = outbox_message(platform.apps["intake"], "RequestReceived", request_id)
    issued = wait_for(
        lambda: outbox_message(platform.apps["preservation"], "OrderIssued", request_id),
        what="the order issued",
    )

    notification = NotificationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    original_get, receipt_id = notification.repository.get, UUID(receipt_id_for(request_id))

    def receipt_recorded_right_after_this_read(aggregate_id, **kw):
        if aggregate_id == receipt_id and not raced:
            raced.append(notification.process(received))  # the other consumer, meanwhile
            raise AggregateNotFoundError(aggregate_id)  # what this read saw a moment before
        return original_get(aggregate_id, **kw)

    raced: list[bool] = []
    notification.repository.get = receipt_recorded_right_after_this_read
    assert notification.process(issued)
    assert raced == [True]
    templates = [m["template"] for m in notification.messages_of_case(created["case_id"])]
    assert "receipt" in templates and "order_issued" in templates, templates
