"""nameko adapter of mla (distributed mode)."""

from __future__ import annotations

from typing import Any

from nameko.timer import timer

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from cp247.errors import DomainError
from services.mla.app import MlaApplication


class MlaService(ns.ServiceBase):
    name = "mla"
    application = ns.ApplicationProvider(MlaApplication)
    relay = ns.OutboxRelay()
    preservation = ns.service_proxy("preservation")
    intake = ns.service_proxy("intake")

    @ns.event_handler("preservation", ns.ALL_EVENTS)
    def from_preservation(self, body: dict) -> None:
        self.consume("preservation", body)

    @ns.event_handler("intake", ns.ALL_EVENTS)
    def from_intake(self, body: dict) -> None:
        self.consume("intake", body)

    @ns.rpc(expected_exceptions=DomainError)
    def outgoing_clocks(self) -> dict[str, Any]:
        return self.app.outgoing_clocks()

    @ns.rpc(expected_exceptions=DomainError)
    def outgoing_of_case(self, case_id: str) -> list[dict[str, Any]]:
        return self.app.outgoing_of_case(case_id)

    @ns.rpc(expected_exceptions=DomainError)
    def follow_ups_of_case(self, case_id: str) -> list[dict[str, Any]]:
        return self.app.follow_ups_of_case(case_id)

    @ns.rpc(expected_exceptions=DomainError)
    def open_follow_ups(self) -> list[dict[str, Any]]:
        return self.app.open_follow_ups()

    @ns.rpc(expected_exceptions=DomainError)
    def record_mla(self, case_id: str, body: dict, actor: dict) -> dict[str, Any]:
        return self._command(self.app.record_mla, case_id, body, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def change_status(self, mla_id: str, body: dict, actor: dict) -> dict[str, Any]:
        return self._command(self.app.change_status, mla_id, body, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def get_mla(self, mla_id: str) -> dict[str, Any]:
        return self.app.get_mla(mla_id)

    @ns.rpc(expected_exceptions=DomainError)
    def mla_of_case(self, case_id: str) -> list[dict[str, Any]]:
        return self.app.mla_of_case(case_id)

    @timer(interval=30)
    def run_clocks(self) -> None:
        """Reminders and overdue follow-ups, derived from recorded events (restart-safe)."""
        self._command(self.app.run_clocks)
