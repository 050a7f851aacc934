"""The ISP liaison application: directory, inbox delivery and provider actions."""

from __future__ import annotations

import re
from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

from cp247.clock import iso, utcnow
from cp247.errors import AlreadyExists, Invalid, NotFound
from cp247.runtime.application import ServiceApplication, load
from events import Message
from services.isp_liaison.domain import Provider, ProviderOrder, provider_uuid

PROVIDER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


class IspLiaisonApplication(ServiceApplication):
    name = "isp_liaison"
    upstreams = ("preservation",)
    policies = {"OrderIssued": "on_order_issued"}

    # --- directory -------------------------------------------------------------------------
    def register_provider(
        self,
        provider_id: str,
        name: str,
        country: str,
        email: str | None = None,
        webhook: str | None = None,
    ) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        if not PROVIDER_ID.match(provider_id or ""):
            errors["id"] = ["lower-case letters, digits, '.', '_' or '-', e.g. telco-a"]
        if not (name or "").strip():
            errors["name"] = ["required"]
        if not re.fullmatch(r"[A-Z]{2}", country or ""):
            errors["country"] = ["an ISO 3166-1 alpha-2 code, e.g. RO"]
        if errors:
            raise Invalid("the provider is not valid", errors)
        provider = Provider(
            provider_id=provider_id,
            name=name.strip(),
            country=country,
            email=email,
            webhook=webhook,
        )
        try:
            self.save(provider)
        except IntegrityError:
            raise AlreadyExists(f"provider {provider_id} is already in the directory") from None
        return self.provider_view(provider)

    def get_provider(self, provider_id: str) -> dict[str, Any]:
        provider = load(self.repository, str(provider_uuid(provider_id)), Provider)
        if provider is None:
            raise NotFound(f"no provider {provider_id!r} in the directory")
        return self.provider_view(provider)

    def has_provider(self, provider_id: str) -> bool:
        return load(self.repository, str(provider_uuid(provider_id)), Provider) is not None

    @staticmethod
    def provider_view(provider: Provider) -> dict[str, Any]:
        return {
            "provider_id": provider.provider_id,
            "name": provider.name,
            "country": provider.country,
            "email": provider.email,
            "webhook": provider.webhook,
        }

    # --- delivery --------------------------------------------------------------------------
    def on_order_issued(self, message: Message, processing: ProcessingEvent) -> None:
        order = message.payload
        if not self.has_provider(order["provider_id"]):
            return  # an order for a provider we cannot reach; the directory issue handles it
        processing.collect_events(
            ProviderOrder(
                order_id=order["order_id"],
                case_id=order["case_id"],
                provider_id=order["provider_id"],
                identifiers=order["identifiers"],
                data_types=order["data_types"],
                legal_basis=order["legal_basis"],
                issued_at=order["issued_at"],
                expires_at=order["expires_at"],
                channel="api",
            )
        )

    # --- the provider's own view -----------------------------------------------------------
    def _own(self, provider_id: str, order_id: str) -> ProviderOrder:
        order = load(self.repository, order_id, ProviderOrder)
        if order is None or order.provider_id != provider_id:
            raise NotFound(f"no order {order_id}")  # another provider's order does not exist
        return order

    def list_orders(self, provider_id: str, status: str | None = None) -> list[dict[str, Any]]:
        return [
            self.order_view(order)
            for order in self.created(ProviderOrder.OrderDelivered)
            if order.provider_id == provider_id and (status is None or order.status == status)
        ]

    def get_order(self, provider_id: str, order_id: str) -> dict[str, Any]:
        return self.order_view(self._own(provider_id, order_id))

    def acknowledge(self, provider_id: str, order_id: str, actor: dict[str, str]) -> dict:
        order = self._own(provider_id, order_id)
        if order.acknowledge(iso(utcnow()), actor):
            try:
                self.save(order)
            except IntegrityError:
                order = self._own(provider_id, order_id)  # a simultaneous repeat won
        return self.order_view(order)

    @staticmethod
    def order_view(order: ProviderOrder) -> dict[str, Any]:
        return {
            "order_id": order.order_id,
            "case_id": order.case_id,
            "provider_id": order.provider_id,
            "status": order.status,
            "identifiers": order.identifiers,
            "data_types": order.data_types,
            "issued_at": order.issued_at,
            "expires_at": order.expires_at,
            "acknowledged_at": order.acknowledged_at,
            "legal_basis": order.legal_basis,
            "document_url": f"/api/v1/isp/orders/{order.order_id}/document",
        }
