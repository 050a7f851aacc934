"""The notification application: what was owed to whom, and that it was given."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import ProcessingEvent

from cp247.runtime.application import ServiceApplication, load
from events import Message
from services.notification.domain import (
    DutyAlert,
    Receipt,
    RequesterNotice,
    alert_id_for,
    notice_id_for,
    receipt_id_for,
)


def _channel(recipient: dict[str, Any]) -> str:
    return "email" if recipient.get("email") else "record"


class NotificationApplication(ServiceApplication):
    name = "notification"
    upstreams = ("intake", "isp_liaison")
    policies = {
        "RequestReceived": "on_request_received",
        "RequestRefused": "on_refused",
        "Art296NoticeGiven": "on_art29_6_notice",
        "ForeignProviderReported": "on_foreign_provider",
    }

    def on_request_received(self, message: Message, processing: ProcessingEvent) -> None:
        request = message.payload
        if request["urgency"] == "emergency":
            processing.collect_events(
                DutyAlert(
                    alert_id=alert_id_for(request["request_id"]),
                    case_id=request["case_id"],
                    request_id=request["request_id"],
                    type=request["type"],
                    urgency=request["urgency"],
                    counterpart_country=request["counterpart_country"],
                    reason="emergency request: imminent risk to life or safety",
                )
            )
        if request["direction"] != "incoming":
            return
        recipient = self._recipient(request)
        processing.collect_events(
            Receipt(
                notice_id=receipt_id_for(request["request_id"]),
                case_id=request["case_id"],
                request_id=request["request_id"],
                recipient=recipient,
                our_reference=request["our_reference"],
                channel=_channel(recipient),
            )
        )

    @staticmethod
    def _recipient(request: dict[str, Any]) -> dict[str, Any]:
        """The directory entry when the sender is known, else the authority as it wrote."""
        directory = request.get("acknowledge_to")
        authority = request["requesting_authority"]
        if directory:
            return {
                "country": directory["country"],
                "contact_point": directory.get("name"),
                "email": directory.get("email"),
                "time_zone": directory.get("time_zone"),
                "reference": authority.get("reference"),
            }
        return authority

    def on_refused(self, message: Message, processing: ProcessingEvent) -> None:
        grounds = ", ".join(message.payload["grounds"])
        self._tell_requester(
            message,
            processing,
            "refusal",
            f"The request was refused on these grounds: {grounds}. "
            f"{message.payload['explanation']}",
        )

    def on_art29_6_notice(self, message: Message, processing: ProcessingEvent) -> None:
        self._tell_requester(
            message,
            processing,
            "art29_6_notice",
            f"Art 29(6) notice ({message.payload['reason']}): "
            f"{message.payload['explanation']} Please tell us whether to proceed.",
        )

    def on_foreign_provider(self, message: Message, processing: ProcessingEvent) -> None:
        """Art 30: disclose enough traffic data to identify the other provider and the path."""
        report = message.payload
        if not report.get("request_id"):
            return  # an order of our own making: no requesting CP to tell
        self._tell_requester(
            message,
            processing,
            "art30_disclosure",
            f"Art 30 partial disclosure: provider {report['provider_id']} reports that "
            f"{report['provider_name']} ({report['country']}) was in the communication chain. "
            f"Path: {report['details'] or 'not given'}.",
        )

    def _tell_requester(
        self, message: Message, processing: ProcessingEvent, subject: str, text: str
    ) -> None:
        receipt = load(self.repository, receipt_id_for(message.payload["request_id"]), Receipt)
        if receipt is None:
            return  # an outgoing request: the requester is one of our own units
        processing.collect_events(
            RequesterNotice(
                notice_id=notice_id_for(
                    message.payload["request_id"], subject, message.notification_id
                ),
                case_id=message.payload["case_id"],
                request_id=message.payload["request_id"],
                recipient=receipt.recipient,
                subject=subject,
                text=text,
                channel=receipt.channel,
            )
        )
