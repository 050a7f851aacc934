"""Notices to parties outside cp247; a CP "should systematically confirm receipt" (seed 4.2)."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NOTICE_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/notices")


def receipt_id_for(request_id: str) -> str:
    return str(uuid5(NOTICE_NAMESPACE, f"receipt|{request_id}"))


class Receipt(Aggregate):
    """The confirmation of receipt owed to the requesting CP for an incoming request."""

    @staticmethod
    def create_id(notice_id: str, **_: Any) -> UUID:
        return UUID(notice_id)

    @event("ReceiptAcknowledged")
    def __init__(
        self,
        notice_id: str,
        case_id: str,
        request_id: str,
        recipient: dict[str, Any],
        our_reference: str,
        channel: str,
    ):
        self.notice_id = notice_id
        self.case_id = case_id
        self.request_id = request_id
        self.recipient = recipient
        self.our_reference = our_reference
        self.channel = channel


def alert_id_for(request_id: str) -> str:
    return str(uuid5(NOTICE_NAMESPACE, f"duty-alert|{request_id}"))


def notice_id_for(request_id: str, subject: str, sequence: int) -> str:
    return str(uuid5(NOTICE_NAMESPACE, f"{subject}|{request_id}|{sequence}"))


class DutyAlert(Aggregate):
    """Wake the duty officer: an emergency cannot wait for office hours (P2 Art 9)."""

    @staticmethod
    def create_id(alert_id: str, **_: Any) -> UUID:
        return UUID(alert_id)

    @event("DutyAlertRaised")
    def __init__(
        self,
        alert_id: str,
        case_id: str,
        request_id: str,
        type: str,  # noqa: A002
        urgency: str,
        counterpart_country: str,
        reason: str,
    ):
        self.alert_id = alert_id
        self.case_id = case_id
        self.request_id = request_id
        self.status = "raised"


class RequesterNotice(Aggregate):
    """A message owed to the requesting CP about a decision on its request."""

    @staticmethod
    def create_id(notice_id: str, **_: Any) -> UUID:
        return UUID(notice_id)

    @event("RequesterNotified")
    def __init__(
        self,
        notice_id: str,
        case_id: str,
        request_id: str,
        recipient: dict[str, Any],
        subject: str,
        text: str,
        channel: str,
    ):
        self.notice_id = notice_id
        self.recipient = recipient
        self.subject = subject
        self.text = text
