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
        self.ended: str | None = None  # refused or withdrawn: nothing more leaves for it

    @event("RequesterFeedbackEnded")
    def end(self, case_id: str, request_id: str, why: str) -> None:
        self.ended = why


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
        our_reference: str,
    ):
        self.our_reference = our_reference
        self.alert_id = alert_id
        self.case_id = case_id
        self.request_id = request_id
        self.type = type
        self.urgency = urgency  # "emergency" or "urgent": the alert's words say which
        self.counterpart_country = counterpart_country
        self.status = "raised"
        self.cp: str | None = None
        self.alerted: list[str] = []
        self.last_alerted_at: str | None = None
        self.acknowledged: dict[str, str] | None = None

    def alert(self, cp: str, person_id: str, person_name: str, at: str) -> None:
        """Tell the next person in the chain: the duty officer first, then escalate."""
        if not self.alerted:
            self._officer_alerted(self.alert_id, self.case_id, cp, person_id, person_name, at)
        else:
            level = len(self.alerted)
            self._escalated(self.alert_id, self.case_id, cp, person_id, person_name, at, level)

    @event("DutyOfficerAlerted")
    def _officer_alerted(
        self, alert_id: str, case_id: str, cp: str, person_id: str, person_name: str, at: str
    ) -> None:
        self.cp = cp
        self.alerted.append(person_id)
        self.last_alerted_at = at

    @event("EscalationRaised")
    def _escalated(
        self,
        alert_id: str,
        case_id: str,
        cp: str,
        person_id: str,
        person_name: str,
        at: str,
        level: int,
    ) -> None:
        self.alerted.append(person_id)
        self.last_alerted_at = at
        self.status = "escalated"

    def acknowledge(self, by: str, at: str, via: str) -> bool:
        if self.acknowledged is not None:
            return False
        self._acknowledged(self.alert_id, self.case_id, by, at, via)
        return True

    @event("DutyAlertAcknowledged")
    def _acknowledged(self, alert_id: str, case_id: str, by: str, at: str, via: str) -> None:
        self.acknowledged = {"by": by, "at": at, "via": via}
        self.status = "acknowledged"


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


def message_id_for(cause: str) -> str:
    """One message per cause (the idempotency key): a restart never sends it twice."""
    return str(uuid5(NOTICE_NAMESPACE, f"message|{cause}"))


class OutgoingMessage(Aggregate):
    """A message owed to someone, with its delivery: e-mail with retries, or the console inbox.

    Recorded before any attempt, so a crash between recording and sending loses nothing; each
    attempt is recorded, so a restart does not send an accepted message again.
    """

    @staticmethod
    def create_id(message_id: str, **_: Any) -> UUID:
        return UUID(message_id)

    @event("MessageQueued")
    def __init__(
        self,
        message_id: str,
        case_id: str,
        cause: str,
        template: str,
        language: str,
        audience: str,
        recipients: list[str],
        subject: str,
        body: str,
        channel: str,
    ):
        self.message_id = message_id
        self.case_id = case_id
        self.cause = cause
        self.template = template
        self.language = language
        self.audience = audience  # requesting_cp | contact_point | duty_officer | prosecutor
        self.recipients = recipients
        self.subject = subject
        self.body = body
        self.channel = channel  # email | webhook | inbox
        self.attempt = 1
        self.next_attempt_at = 0.0
        self.state = "pending" if channel in ("email", "webhook") else "inbox"
        self.read_by: list[str] = []

    @event("MessageAttemptFailed")
    def attempt_failed(
        self, message_id: str, case_id: str, attempt: int, error: str, next_attempt_at: float
    ) -> None:
        self.attempt = attempt + 1
        self.next_attempt_at = next_attempt_at

    @event("NotificationSent")
    def sent(
        self,
        message_id: str,
        case_id: str,
        attempt: int,
        template: str,
        request_id: str | None = None,  # a receipt's request: delivered is acknowledged
    ) -> None:
        self.state = "sent"

    @event("NotificationFailed")
    def failed(
        self, message_id: str, case_id: str, attempt: int, error: str, template: str
    ) -> None:
        """The last try failed: this record is the dead letter, shown on the timeline."""
        self.state = "failed"

    @event("MessageRead")
    def mark_read(self, message_id: str, case_id: str, username: str) -> None:
        self.read_by.append(username)


def deferred_id_for(request_id: str) -> str:
    return str(uuid5(NOTICE_NAMESPACE, f"deferred|{request_id}"))


class DeferredFeedback(Aggregate):
    """Feedback that arrived before the request itself (events of different services reach
    notification in any order): kept until the receipt exists, then sent."""

    @staticmethod
    def create_id(request_id: str, **_: Any) -> UUID:
        return UUID(deferred_id_for(request_id))

    @event("FeedbackDeferralStarted")
    def __init__(self, request_id: str, case_id: str):
        self.request_id = request_id
        self.case_id = case_id
        self.waiting: list[dict[str, Any]] = []
        self.receipt_known = False

    @event("FeedbackDeferred")
    def defer(self, case_id: str, cause: str, template: str, context: dict[str, Any]) -> None:
        self.waiting.append({"cause": cause, "template": template, "context": context})

    @event("FeedbackReleased")
    def release(self, case_id: str, causes: list[str]) -> None:
        self.waiting = [w for w in self.waiting if w["cause"] not in causes]
        self.receipt_known = True  # released only when the receipt is recorded


def parties_id_for(order_id: str) -> str:
    return str(uuid5(NOTICE_NAMESPACE, f"order-parties|{order_id}"))


class OrderParties(Aggregate):
    """The other requesting Parties an order preserves for: each gets its own feedback."""

    @staticmethod
    def create_id(order_id: str, **_: Any) -> UUID:
        return UUID(parties_id_for(order_id))

    @event("OrderPartiesNoted")
    def __init__(self, order_id: str, case_id: str):
        self.order_id = order_id
        self.case_id = case_id
        self.request_ids: list[str] = []

    @event("OrderPartyNoted")
    def note(self, order_id: str, case_id: str, request_id: str) -> None:
        self.request_ids.append(request_id)
