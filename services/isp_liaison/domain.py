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
    """A preservation order in a provider's inbox."""

    @staticmethod
    def create_id(order_id: str, **_: Any) -> UUID:
        return UUID(order_id)

    @event("OrderDelivered")
    def __init__(
        self,
        order_id: str,
        case_id: str,
        provider_id: str,
        identifiers: list[dict[str, Any]],
        data_types: list[str],
        legal_basis: str,
        issued_at: str,
        expires_at: str,
        channel: str,
    ):
        self.order_id = order_id
        self.case_id = case_id
        self.provider_id = provider_id
        self.identifiers = identifiers
        self.data_types = data_types
        self.legal_basis = legal_basis
        self.issued_at = issued_at
        self.expires_at = expires_at
        self.status = "issued"
        self.acknowledged_at: str | None = None

    def acknowledge(self, now: str, actor: dict[str, str]) -> bool:
        """The provider confirms it has the order; repeating it records nothing new."""
        if self.acknowledged_at is not None:
            return False
        if self.status != "issued":
            raise Conflict(f"order {self.order_id} is {self.status}")
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
