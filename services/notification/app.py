"""The notification application: what was owed to whom, and that it was given."""

from __future__ import annotations

from eventsourcing.application import ProcessingEvent

from cp247.runtime.application import ServiceApplication
from events import Message
from services.notification.domain import Receipt, receipt_id_for


class NotificationApplication(ServiceApplication):
    name = "notification"
    upstreams = ("intake",)
    policies = {"RequestReceived": "on_request_received"}

    def on_request_received(self, message: Message, processing: ProcessingEvent) -> None:
        request = message.payload
        if request["direction"] != "incoming":
            return
        recipient = request["requesting_authority"]
        processing.collect_events(
            Receipt(
                notice_id=receipt_id_for(request["request_id"]),
                case_id=request["case_id"],
                request_id=request["request_id"],
                recipient=recipient,
                our_reference=request["our_reference"],
                channel="email" if recipient.get("email") else "record",
            )
        )
