"""The ISP liaison application: directory, inbox delivery and provider actions."""

from __future__ import annotations

import re
from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

from cp247.clock import iso, utcnow
from cp247.errors import AlreadyExists, Conflict, Invalid, NotFound
from cp247.runtime.application import ServiceApplication, load
from events import Message
from services.isp_liaison.domain import Provider, ProviderOrder, provider_uuid

PROVIDER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


class IspLiaisonApplication(ServiceApplication):
    name = "isp_liaison"
    upstreams = ("preservation",)
    policies = {
        "OrderIssued": "on_order_issued",
        "OrderExtended": "on_order_extended",
        "OrderReleased": "on_order_closed",
        "OrderExpired": "on_order_closed",
    }

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
                request_id=order.get("request_id"),
                provider_id=order["provider_id"],
                identifiers=order["identifiers"],
                data_types=order["data_types"],
                legal_basis=order["legal_basis"],
                issued_at=order["issued_at"],
                expires_at=order["expires_at"],
                channel="api",
            )
        )

    def on_order_extended(self, message: Message, processing: ProcessingEvent) -> None:
        order = load(self.repository, message.payload["order_id"], ProviderOrder)
        if order is not None:
            order.extended(order.order_id, message.payload["expires_at"])
            processing.collect_events(order)

    def on_order_closed(self, message: Message, processing: ProcessingEvent) -> None:
        order = load(self.repository, message.payload["order_id"], ProviderOrder)
        if order is not None and order.closed_as is None:
            closed_as = "released" if message.event == "OrderReleased" else "expired"
            order.close(order.order_id, closed_as, message.payload.get("reason"))
            processing.collect_events(order)

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
        return self._report(provider_id, order_id, lambda o, now: o.acknowledge(now, actor))

    def report_preserved(
        self, provider_id: str, order_id: str, body: dict[str, Any], actor: dict[str, str]
    ) -> dict:
        self._own(provider_id, order_id)  # another provider's order is a 404 first
        note, records = body.get("note") or "", body.get("records")
        errors = {}
        if not isinstance(note, str) or len(note) > 4000:
            errors["note"] = ["text of at most 4000 characters"]
        if records is not None and (
            not isinstance(records, int) or isinstance(records, bool) or records < 0
        ):
            errors["records"] = ["a number of records, 0 or more"]
        if errors:
            raise Invalid("the report is not valid", errors)
        return self._report(
            provider_id, order_id, lambda o, now: o.report_preserved(note, records, now, actor)
        )

    def report_unavailable(
        self, provider_id: str, order_id: str, body: dict[str, Any], actor: dict[str, str]
    ) -> dict:
        self._own(provider_id, order_id)  # another provider's order is a 404 first
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 4000:
            raise Invalid("say why the data are not available", {"reason": ["required text"]})
        return self._report(
            provider_id, order_id, lambda o, now: o.report_unavailable(reason, now, actor)
        )

    def report_foreign_provider(
        self, provider_id: str, order_id: str, body: dict[str, Any], actor: dict[str, str]
    ) -> dict:
        self._own(provider_id, order_id)  # another provider's order is a 404 first
        country, name = body.get("country"), body.get("provider_name")
        details = body.get("details") or ""
        errors = {}
        if not isinstance(country, str) or not re.fullmatch(r"[A-Z]{2}", country):
            errors["country"] = ["ISO 3166-1 alpha-2, e.g. DE"]
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errors["provider_name"] = ["the other provider's name"]
        if not isinstance(details, str) or len(details) > 4000:
            errors["details"] = ["text of at most 4000 characters"]
        if errors:
            raise Invalid("the Art 30 report is not valid", errors)
        return self._report(
            provider_id,
            order_id,
            lambda o, now: o.report_foreign_provider(country, name.strip(), details, now, actor),
        )

    def _report(self, provider_id: str, order_id: str, act: Any) -> dict[str, Any]:
        """Apply a provider action once; a repeat returns the same view and records nothing."""
        for _ in range(5):
            order = self._own(provider_id, order_id)
            if not act(order, iso(utcnow())):
                return self.order_view(order)
            try:
                self.save(order)
            except IntegrityError:
                continue  # a simultaneous action on the same order: look again
            return self.order_view(order)
        raise Conflict(f"order {order_id} is busy; try again")

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
            "outcome": order.outcome,
            "foreign_providers": list(order.foreign_reports),
            "legal_basis": order.legal_basis,
            "document_url": f"/api/v1/isp/orders/{order.order_id}/document",
        }
