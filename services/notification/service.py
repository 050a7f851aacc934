"""nameko adapter of notification (distributed mode)."""

from __future__ import annotations

from typing import Any

from nameko.timer import timer

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from cp247.errors import DomainError
from services.notification.app import NotificationApplication


class NotificationService(ns.ServiceBase):
    name = "notification"
    application = ns.ApplicationProvider(NotificationApplication)
    relay = ns.OutboxRelay()
    intake = ns.service_proxy("intake")
    isp_liaison = ns.service_proxy("isp_liaison")
    preservation = ns.service_proxy("preservation")
    mla = ns.service_proxy("mla")

    @ns.event_handler("intake", ns.ALL_EVENTS)
    def from_intake(self, body: dict) -> None:
        self.consume("intake", body)

    @ns.event_handler("isp_liaison", ns.ALL_EVENTS)
    def from_isp_liaison(self, body: dict) -> None:
        self.consume("isp_liaison", body)

    @ns.event_handler("preservation", ns.ALL_EVENTS)
    def from_preservation(self, body: dict) -> None:
        self.consume("preservation", body)

    @ns.event_handler("mla", ns.ALL_EVENTS)
    def from_mla(self, body: dict) -> None:
        self.consume("mla", body)

    @timer(interval=2)
    def deliver_messages(self) -> None:
        """E-mail what is due (retries follow the recorded back-off)."""
        self._command(self.app.deliver_messages)

    @timer(interval=30)
    def escalate(self) -> None:
        """Alert the next person for alerts nobody took in time."""
        self._command(self.app.escalate)

    @ns.rpc(expected_exceptions=DomainError)
    def inbox(self) -> list[dict[str, Any]]:
        return self.app.inbox()

    @ns.rpc(expected_exceptions=DomainError)
    def messages_of_case(self, case_id: str) -> list[dict[str, Any]]:
        return self.app.messages_of_case(case_id)

    @ns.rpc(expected_exceptions=DomainError)
    def open_alerts(self) -> list[dict[str, Any]]:
        return self.app.open_alerts()

    @ns.rpc(expected_exceptions=DomainError)
    def acknowledge_alert(self, alert_id: str, username: str, via: str) -> dict[str, Any]:
        return self._command(self.app.acknowledge_alert, alert_id, username, via)

    @ns.rpc(expected_exceptions=DomainError)
    def alert_link(self, token: str) -> dict[str, Any]:
        return self.app.alert_link(token)

    @ns.rpc(expected_exceptions=DomainError)
    def acknowledge_by_link(self, token: str) -> dict[str, Any]:
        return self._command(self.app.acknowledge_by_link, token)
