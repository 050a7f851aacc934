"""Providers and the orders delivered to them, as the provider sees them."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from cp247.errors import Conflict

PROVIDER_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/providers")


def provider_uuid(provider_id: str) -> UUID:
    return uuid5(PROVIDER_NAMESPACE, provider_id)


class Provider(Aggregate):
    """A service provider in the directory; its id is the short name used in the API."""

    @staticmethod
    def create_id(provider_id: str, **_: Any) -> UUID:
        return provider_uuid(provider_id)

    @event("ProviderRegistered")
    def __init__(
        self, provider_id: str, name: str, country: str, email: str | None, webhook: str | None
    ):
        self.provider_id = provider_id
        self.name = name
        self.country = country
        self.email = email
        self.webhook = webhook


class ProviderOrder(Aggregate):
    """An order in a provider's inbox: to preserve data, or to disclose them."""

    # Snapshots taken before disclosure orders lack these: they were preservation orders.
    kind: str = "preservation"
    due_by: str | None = None
    emergency: bool = False
    issued_by: dict[str, str] | None = None
    produced: tuple[dict[str, Any], ...] = ()  # each production, in order (issue 20)

    @staticmethod
    def create_id(order_id: str, **_: Any) -> UUID:
        return UUID(order_id)

    @event("OrderDelivered")
    def __init__(
        self,
        order_id: str,
        case_id: str,
        request_id: str | None,
        provider_id: str,
        identifiers: list[dict[str, Any]],
        data_types: list[str],
        legal_basis: str,
        issued_at: str,
        expires_at: str | None,
        channel: str,
        document: dict[str, Any] | None = None,
        kind: str = "preservation",
        due_by: str | None = None,
        emergency: bool = False,
        issued_by: dict[str, str] | None = None,
    ):
        # Orders delivered before issue 19 carried their signed document here; now it is
        # rendered beside delivery and recorded by sign() (None at delivery).
        self.document = document or {}
        self.signed_at_delivery = document is not None  # erased, it reads as {}: still signed
        self.issued_expires_at = expires_at  # what the document states, whatever extends it
        self.kind = kind  # preservation | disclosure (issue 20); earlier orders: preservation
        self.due_by = due_by  # a disclosure order's answer is due by then
        self.emergency = emergency  # P2 Art 9: an imminent risk to life; due in hours
        self.issued_by = issued_by  # the document names who ordered it (the approver)
        self.order_id = order_id
        self.case_id = case_id
        self.request_id = request_id
        self.provider_id = provider_id
        self.identifiers = identifiers
        self.data_types = data_types
        self.legal_basis = legal_basis
        self.issued_at = issued_at
        self.expires_at = expires_at
        self.status = "issued"
        self.acknowledged_at: str | None = None
        self.outcome: dict[str, Any] | None = None
        self.foreign_reports: list[dict[str, Any]] = []
        self.closed_as: str | None = None

    def acknowledge(self, now: str, actor: dict[str, str]) -> bool:
        """The provider confirms it has the order; repeating it records nothing new."""
        if self.acknowledged_at is not None or self.status in ("preserved", "unavailable"):
            return False  # already beyond acknowledging: nothing to add
        self._open()
        self._acknowledged(self.order_id, self.case_id, self.provider_id, now, actor)
        return True

    @event("ProviderAcknowledgedOrder")
    def _acknowledged(
        self,
        order_id: str,
        case_id: str,
        provider_id: str,
        acknowledged_at: str,
        actor: dict[str, str],
    ) -> None:
        self.acknowledged_at = acknowledged_at
        self.status = "acknowledged"

    # --- the provider's reports (each idempotent: a repeat records nothing) ----------------
    def _open(self) -> None:
        if self.closed_as is not None:
            raise Conflict(f"order {self.order_id} was {self.closed_as}")

    def _preservation(self, action: str) -> None:
        if self.kind != "preservation":
            raise Conflict(f"order {self.order_id} is a {self.kind} order: {action}")

    def report_preserved(self, note: str, records: int | None, now: str, actor: dict) -> bool:
        self._preservation("it is answered by producing the data, not by preserving them")
        if self.outcome is not None and self.outcome["outcome"] == "preserved":
            return False
        self._open()
        if self.status not in ("issued", "acknowledged"):
            raise Conflict(f"order {self.order_id} is already {self.status}")
        self._preserved(
            self.order_id, self.case_id, self.request_id, self.provider_id, note, records, now,
            actor, self.expires_at,
        )  # fmt: skip
        return True

    @event("DataPreserved")
    def _preserved(
        self,
        order_id: str,
        case_id: str,
        request_id: str | None,
        provider_id: str,
        note: str,
        records: int | None,
        preserved_at: str,
        actor: dict[str, str],
        expires_at: str | None = None,
    ) -> None:
        self.outcome = {"outcome": "preserved", "note": note, "records": records,
                        "at": preserved_at}  # fmt: skip
        self.status = "preserved"

    def report_unavailable(self, reason: str, now: str, actor: dict) -> bool:
        if self.outcome is not None and self.outcome["outcome"] == "unavailable":
            return False
        self._open()
        if self.status not in ("issued", "acknowledged"):
            raise Conflict(f"order {self.order_id} is already {self.status}")
        self._unavailable(
            self.order_id, self.case_id, self.request_id, self.provider_id, reason, now, actor,
            self.kind,
        )  # fmt: skip
        return True

    @event("DataUnavailable")
    def _unavailable(
        self,
        order_id: str,
        case_id: str,
        request_id: str | None,
        provider_id: str,
        reason: str,
        reported_at: str,
        actor: dict[str, str],
        kind: str = "preservation",
    ) -> None:
        self.outcome = {"outcome": "unavailable", "reason": reason, "at": reported_at}
        self.status = "unavailable"

    def report_produced(
        self, production_id: str, files: list[dict[str, Any]], note: str, now: str, actor: dict
    ) -> bool:
        """A disclosure order answered with files (several productions may follow one
        another); the same production again records nothing."""
        if self.kind != "disclosure":
            raise Conflict(f"order {self.order_id} is a preservation order: nothing to produce")
        if production_id in self.productions:
            return False  # the same files again
        self._open()
        if self.status not in ("issued", "acknowledged", "produced"):
            raise Conflict(f"order {self.order_id} is already {self.status}")
        self._produced(
            self.order_id, self.case_id, self.request_id, self.provider_id, production_id,
            files, [f["sha256"] for f in files], note, now, actor,
        )  # fmt: skip
        return True

    @event("DataProduced")
    def _produced(
        self,
        order_id: str,
        case_id: str,
        request_id: str | None,
        provider_id: str,
        production_id: str,
        files: list[dict[str, Any]],
        sha256s: list[str],
        note: str,
        produced_at: str,
        actor: dict[str, str],
    ) -> None:
        production = {"production_id": production_id, "files": files, "note": note,
                      "at": produced_at}  # fmt: skip
        self.produced = (*self.produced, production)
        self.outcome = {"outcome": "produced", "production_ids": self.productions,
                        "at": produced_at}  # fmt: skip
        self.status = "produced"

    @property
    def productions(self) -> list[str]:
        return [p["production_id"] for p in self.produced]

    def report_foreign_provider(
        self, country: str, provider_name: str, details: str, now: str, actor: dict
    ) -> bool:
        """Art 30: another State's provider was in the chain; the same report once."""
        self._preservation("Art 30 reports come with preserving traffic data (Art 29)")
        report = {"country": country, "provider_name": provider_name, "details": details}
        if any({k: r[k] for k in report} == report for r in self.foreign_reports):
            return False
        self._open()
        self._foreign_provider(
            self.order_id, self.case_id, self.request_id, self.provider_id,
            country, provider_name, details, now, actor,
        )  # fmt: skip
        return True

    @event("ForeignProviderReported")
    def _foreign_provider(
        self,
        order_id: str,
        case_id: str,
        request_id: str | None,
        provider_id: str,
        country: str,
        provider_name: str,
        details: str,
        reported_at: str,
        actor: dict[str, str],
    ) -> None:
        self.foreign_reports.append(
            {"country": country, "provider_name": provider_name, "details": details,
             "at": reported_at}
        )  # fmt: skip

    # --- the signed document, rendered beside delivery -----------------------------------------
    @property
    def signed(self) -> bool:
        return self.signed_at_delivery or bool(self.document.get("sha256"))

    def document_fields(self, provider_name: str) -> dict[str, Any]:
        """What the order document states: the order as issued (not as since extended)."""
        return {
            "order_id": self.order_id,
            "case_id": self.case_id,
            "request_id": self.request_id,
            "provider_id": self.provider_id,
            "provider_name": provider_name,
            "identifiers": self.identifiers,
            "data_types": self.data_types,
            "legal_basis": self.legal_basis,
            "issued_at": self.issued_at,
            "expires_at": self.issued_expires_at,
            "kind": self.kind,
            "due_by": self.due_by,
            "emergency": self.emergency,
            "issued_by": self.issued_by,
        }

    def sign(self, number: str, sha256: str, key_id: str, signature: str, pdf_b64: str) -> None:
        """Record the signed document: its digest for everyone, its bytes for this service."""
        self._document_signed(
            self.order_id, self.case_id, self.provider_id, number, sha256, key_id, signature
        )
        self._document_stored(self.order_id, self.case_id, pdf_b64)

    @event("OrderDocumentSigned")
    def _document_signed(
        self,
        order_id: str,
        case_id: str,
        provider_id: str,
        number: str,
        sha256: str,
        key_id: str,
        signature: str,
    ) -> None:
        self.document = {"number": number, "sha256": sha256, "key_id": key_id,
                         "signature": signature}  # fmt: skip

    @event("OrderDocumentStored")
    def _document_stored(self, order_id: str, case_id: str, pdf_b64: str) -> None:
        self.document = {**self.document, "pdf_b64": pdf_b64}

    # --- what preservation decides later ----------------------------------------------------
    @event("InboxOrderExtended")
    def extended(self, order_id: str, expires_at: str) -> None:
        self.expires_at = expires_at

    @event("InboxOrderClosed")
    def close(self, order_id: str, closed_as: str, reason: str | None) -> None:
        self.closed_as = closed_as
        self.status = closed_as
        self.closed_reason = reason  # what the provider is told: neutral words


class WebhookDelivery(Aggregate):
    """One push of an event to a provider's webhook, retried with back-off until it is
    accepted or given up (the inbox stays the source of truth)."""

    @staticmethod
    def create_id(delivery_id: str, **_: Any) -> UUID:
        return UUID(delivery_id)

    @event("WebhookScheduled")
    def __init__(
        self,
        delivery_id: str,
        order_id: str,
        case_id: str,
        provider_id: str,
        url: str,
        hook_event: str,
        body: dict[str, Any],
        next_attempt_at: float,
    ):
        self.delivery_id = delivery_id
        self.order_id = order_id
        self.case_id = case_id
        self.provider_id = provider_id
        self.url = url
        self.hook_event = hook_event
        self.body = body
        self.attempt = 1
        self.next_attempt_at: float | None = next_attempt_at
        self.state = "pending"
        self.attempts: list[dict[str, Any]] = []

    @event("WebhookAttempted")
    def attempted(
        self,
        delivery_id: str,
        order_id: str,
        case_id: str,
        attempt: int,
        status: int | None,
        error: str | None,
        state: str,
        next_attempt_at: float | None,
    ) -> None:
        self.attempts.append({"attempt": attempt, "status": status, "error": error})
        self.state = state
        self.attempt = attempt + 1
        self.next_attempt_at = next_attempt_at
