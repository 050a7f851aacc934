"""The preservation order: one per provider, drafted, approved where national law requires,
issued for at least 60 days, acknowledged by the provider."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from cp247.clock import iso
from cp247.errors import Conflict

ORDER_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/preservation-orders")
LEGAL_BASIS = "Budapest Convention Art 29 (expedited preservation of stored computer data)"


def order_id_for(request_id: str, provider_id: str) -> str:
    """The order a registered request gives rise to, the same however often it is processed."""
    return str(uuid5(ORDER_NAMESPACE, f"{request_id}|{provider_id}"))


def preservation_expiry(issued_at: datetime, period_days: int) -> datetime:
    return issued_at + timedelta(days=period_days)


class PreservationOrder(Aggregate):
    @staticmethod
    def create_id(order_id: str, **_: Any) -> UUID:
        return UUID(order_id)

    @event("OrderDrafted")
    def __init__(
        self,
        order_id: str,
        case_id: str,
        request_id: str | None,
        provider_id: str,
        identifiers: list[dict[str, Any]],
        data_types: list[str],
        period_days: int,
        legal_basis: str,
        direction: str,
        mla_intended: bool | None,
        actor: dict[str, str],
    ):
        self.order_id = order_id
        self.case_id = case_id
        self.request_id = request_id
        self.provider_id = provider_id
        self.identifiers = identifiers
        self.data_types = data_types
        self.period_days = period_days
        self.legal_basis = legal_basis
        self.direction = direction
        self.mla_intended = mla_intended
        self.drafted_by = actor
        self.status = "drafted"
        self.issued_at: str | None = None
        self.expires_at: str | None = None
        self.acknowledged_at: str | None = None
        self.approved_by: dict[str, str] | None = None

    # --- approval --------------------------------------------------------------------------
    def request_approval(self, reason: str, actor: dict[str, str]) -> None:
        self._approval_requested(self.order_id, self.case_id, reason, actor)

    @event("OrderApprovalRequested")
    def _approval_requested(
        self, order_id: str, case_id: str, reason: str, actor: dict[str, str]
    ) -> None:
        self.status = "awaiting_approval"

    def approve(self, actor: dict[str, str], now: datetime) -> None:
        if self.status != "awaiting_approval":
            raise Conflict(f"order {self.order_id} is {self.status}, not awaiting approval")
        self._approved(self.order_id, self.case_id, actor)
        self.issue(actor, now)

    @event("OrderApproved")
    def _approved(self, order_id: str, case_id: str, actor: dict[str, str]) -> None:
        self.approved_by = actor

    # --- issue -----------------------------------------------------------------------------
    def issue(self, actor: dict[str, str], now: datetime) -> None:
        if self.status not in ("drafted", "awaiting_approval"):
            raise Conflict(f"order {self.order_id} is already {self.status}")
        self._issued(
            order_id=self.order_id,
            case_id=self.case_id,
            provider_id=self.provider_id,
            identifiers=self.identifiers,
            data_types=self.data_types,
            legal_basis=self.legal_basis,
            direction=self.direction,
            mla_intended=self.mla_intended,
            issued_at=iso(now),
            expires_at=iso(preservation_expiry(now, self.period_days)),
            actor=actor,
        )

    @event("OrderIssued")
    def _issued(
        self,
        order_id: str,
        case_id: str,
        provider_id: str,
        identifiers: list[dict[str, Any]],
        data_types: list[str],
        legal_basis: str,
        direction: str,
        mla_intended: bool | None,
        issued_at: str,
        expires_at: str,
        actor: dict[str, str],
    ) -> None:
        self.status = "issued"
        self.issued_at = issued_at
        self.expires_at = expires_at

    # --- provider --------------------------------------------------------------------------
    def record_acknowledgement(self, acknowledged_at: str, actor: dict[str, str]) -> bool:
        """Record the provider's acknowledgement once; later ones change nothing."""
        if self.acknowledged_at is not None:
            return False
        self._acknowledged(self.order_id, self.case_id, self.provider_id, acknowledged_at, actor)
        return True

    @event("OrderAcknowledged")
    def _acknowledged(
        self,
        order_id: str,
        case_id: str,
        provider_id: str,
        acknowledged_at: str,
        actor: dict[str, str],
    ) -> None:
        self.acknowledged_at = acknowledged_at
        if self.status == "issued":
            self.status = "acknowledged"
