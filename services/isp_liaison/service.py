"""nameko adapter of isp_liaison (distributed mode)."""

from __future__ import annotations

from typing import Any

from nameko.timer import timer

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from cp247.errors import DomainError
from services.isp_liaison.app import IspLiaisonApplication


class IspLiaisonService(ns.ServiceBase):
    name = "isp_liaison"
    application = ns.ApplicationProvider(IspLiaisonApplication)
    relay = ns.OutboxRelay()
    preservation = ns.service_proxy("preservation")

    @ns.event_handler("preservation", ns.ALL_EVENTS)
    def from_preservation(self, body: dict) -> None:
        self.consume("preservation", body)

    @ns.rpc(expected_exceptions=DomainError)
    def has_provider(self, provider_id: str) -> bool:
        return self.app.has_provider(provider_id)

    @ns.rpc(expected_exceptions=DomainError)
    def get_provider(self, provider_id: str) -> dict[str, Any]:
        return self.app.get_provider(provider_id)

    @ns.rpc(expected_exceptions=DomainError)
    def list_orders(self, provider_id: str, status: str | None) -> list[dict[str, Any]]:
        return self.app.list_orders(provider_id, status)

    @ns.rpc(expected_exceptions=DomainError)
    def get_order(self, provider_id: str, order_id: str) -> dict[str, Any]:
        return self.app.get_order(provider_id, order_id)

    @ns.rpc(expected_exceptions=DomainError)
    def acknowledge(self, provider_id: str, order_id: str, actor: dict) -> dict[str, Any]:
        return self._command(self.app.acknowledge, provider_id, order_id, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def report_preserved(self, provider_id: str, order_id: str, body: dict, actor: dict) -> dict:
        return self._command(self.app.report_preserved, provider_id, order_id, body, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def report_unavailable(self, provider_id: str, order_id: str, body: dict, actor: dict) -> dict:
        return self._command(self.app.report_unavailable, provider_id, order_id, body, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def report_foreign_provider(
        self, provider_id: str, order_id: str, body: dict, actor: dict
    ) -> dict:
        report = self.app.report_foreign_provider
        return self._command(report, provider_id, order_id, body, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def document(self, provider_id: str, order_id: str) -> dict[str, str]:
        return self.app.document(provider_id, order_id)

    @timer(interval=1)
    def dispatch_webhooks(self) -> None:
        """Push due orders to providers' webhooks (network I/O, off the event path)."""
        if self._command(self.app.dispatch_webhooks):
            self.relay.kick()
