"""nameko adapter of the timeline read model (distributed mode)."""

from __future__ import annotations

from typing import Any

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from cp247.errors import DomainError


class TimelineService(ns.ServiceBase):
    name = "timeline"
    application = ns.ApplicationProvider("timeline")
    relay = ns.OutboxRelay()  # publishes nothing (a read model) but keeps the shape uniform
    intake = ns.service_proxy("intake")
    preservation = ns.service_proxy("preservation")
    isp_liaison = ns.service_proxy("isp_liaison")
    mla = ns.service_proxy("mla")
    notification = ns.service_proxy("notification")

    @ns.event_handler("intake", ns.ALL_EVENTS)
    def from_intake(self, body: dict) -> None:
        self.consume("intake", body)

    @ns.event_handler("preservation", ns.ALL_EVENTS)
    def from_preservation(self, body: dict) -> None:
        self.consume("preservation", body)

    @ns.event_handler("isp_liaison", ns.ALL_EVENTS)
    def from_isp_liaison(self, body: dict) -> None:
        self.consume("isp_liaison", body)

    @ns.event_handler("mla", ns.ALL_EVENTS)
    def from_mla(self, body: dict) -> None:
        self.consume("mla", body)

    @ns.event_handler("notification", ns.ALL_EVENTS)
    def from_notification(self, body: dict) -> None:
        self.consume("notification", body)

    @ns.rpc(expected_exceptions=DomainError)
    def case_timeline(self, case_id: str) -> dict[str, Any]:
        return self.app.case_timeline(case_id)

    @ns.rpc(expected_exceptions=DomainError)
    def statistics(self, year: int) -> dict[str, Any]:
        return self.app.statistics(year)

    @ns.rpc(expected_exceptions=DomainError)
    def audit_verify(self, name_cases: bool = False) -> dict[str, Any]:
        def read(source: str, start: int, limit: int) -> list[dict[str, Any]]:
            return ns.TimedProxy(getattr(self, source), source).outbox(start, limit)

        return self.app.audit_verify(read, name_cases)
