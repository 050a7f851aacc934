"""nameko adapter of preservation (distributed mode)."""

from __future__ import annotations

from typing import Any

from nameko.timer import timer

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from cp247.errors import DomainError
from services.preservation.app import PreservationApplication


class PreservationService(ns.ServiceBase):
    name = "preservation"
    application = ns.ApplicationProvider(PreservationApplication)
    relay = ns.OutboxRelay()
    intake = ns.service_proxy("intake")
    isp_liaison = ns.service_proxy("isp_liaison")
    mla = ns.service_proxy("mla")

    @ns.event_handler("intake", ns.ALL_EVENTS)
    def from_intake(self, body: dict) -> None:
        self.consume("intake", body)

    @ns.event_handler("isp_liaison", ns.ALL_EVENTS)
    def from_isp_liaison(self, body: dict) -> None:
        self.consume("isp_liaison", body)

    @ns.event_handler("mla", ns.ALL_EVENTS)
    def from_mla(self, body: dict) -> None:
        self.consume("mla", body)

    @timer(interval=30)
    def expire_due(self) -> None:
        """Preservation periods end on the clock, not on a request."""
        if self._command(self.app.expire_due):
            self.relay.kick()

    @ns.rpc(expected_exceptions=DomainError)
    def extend_order(self, order_id: str, days: Any, actor: dict) -> dict[str, Any]:
        return self._command(self.app.extend_order, order_id, days, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def release_order(self, order_id: str, reason: Any, actor: dict) -> dict[str, Any]:
        return self._command(self.app.release_order, order_id, reason, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def create_order(
        self, case_id: str, body: dict, actor: dict, request_ids: list | None = None
    ) -> dict[str, Any]:
        return self._command(self.app.create_order, case_id, body, actor, request_ids)

    @ns.rpc(expected_exceptions=DomainError)
    def approve_order(self, order_id: str, actor: dict) -> dict[str, Any]:
        return self._command(self.app.approve_order, order_id, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def get_order(self, order_id: str) -> dict[str, Any]:
        return self.app.get_order(order_id)

    @ns.rpc(expected_exceptions=DomainError)
    def orders_of_case(self, case_id: str) -> list[dict[str, Any]]:
        return self.app.orders_of_case(case_id)

    @ns.rpc(expected_exceptions=DomainError)
    def open_orders(self) -> list[dict[str, Any]]:
        return self.app.open_orders()
