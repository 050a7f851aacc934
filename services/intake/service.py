"""nameko adapter of intake (distributed mode): RPC in, events out through the relay."""

from __future__ import annotations

from typing import Any

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from cp247.errors import DomainError
from services.intake.app import IntakeApplication


class IntakeService(ns.ServiceBase):
    name = "intake"
    application = ns.ApplicationProvider(IntakeApplication)
    relay = ns.OutboxRelay()
    preservation = ns.service_proxy("preservation")

    @ns.event_handler("preservation", ns.ALL_EVENTS)
    def from_preservation(self, body: dict) -> None:
        self.consume("preservation", body)

    @ns.rpc(expected_exceptions=DomainError)
    def register_request(self, body: dict, actor: dict, custodian_listed: bool) -> dict[str, Any]:
        return self._command(self.app.register_request, body, actor, custodian_listed)

    @ns.rpc(expected_exceptions=DomainError)
    def get_case(self, case_id: str) -> dict[str, Any]:
        return self.app.get_case(case_id)

    @ns.rpc(expected_exceptions=DomainError)
    def list_cases(self, filters: dict) -> list[dict[str, Any]]:
        return self.app.list_cases(filters)

    @ns.rpc(expected_exceptions=DomainError)
    def get_request(self, request_id: str) -> dict[str, Any]:
        return self.app.get_request(request_id)

    @ns.rpc(expected_exceptions=DomainError)
    def assign_lead(self, case_id: str, lead: Any, actor: dict) -> dict[str, Any]:
        return self._command(self.app.assign_lead, case_id, lead, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def resolve_near_duplicate(
        self, case_id: str, request_id: str, resolution: Any, actor: dict
    ) -> dict[str, Any]:
        return self._command(
            self.app.resolve_near_duplicate, case_id, request_id, resolution, actor
        )

    @ns.rpc(expected_exceptions=DomainError)
    def refuse_request(
        self, request_id: str, grounds: list, explanation: str, actor: dict
    ) -> dict[str, Any]:
        return self._command(self.app.refuse_request, request_id, grounds, explanation, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def give_art29_6_notice(
        self, request_id: str, reason: str, explanation: str, actor: dict
    ) -> dict[str, Any]:
        return self._command(self.app.give_art29_6_notice, request_id, reason, explanation, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def withdraw_request(self, request_id: str, reason: Any, actor: dict) -> dict[str, Any]:
        return self._command(self.app.withdraw_request, request_id, reason, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def record_art29_6_decision(
        self, request_id: str, decision: Any, note: Any, actor: dict
    ) -> dict[str, Any]:
        return self._command(self.app.record_art29_6_decision, request_id, decision, note, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def decline_order(self, request_id: str, reason: Any, actor: dict) -> dict[str, Any]:
        return self._command(self.app.decline_order, request_id, reason, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def mark_sent(self, request_id: str, body: dict, actor: dict) -> dict[str, Any]:
        return self._command(self.app.mark_sent, request_id, body, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def record_foreign_receipt(self, request_id: str, body: dict, actor: dict) -> dict[str, Any]:
        return self._command(self.app.record_foreign_receipt, request_id, body, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def record_answer(self, request_id: str, body: dict, actor: dict) -> dict[str, Any]:
        return self._command(self.app.record_answer, request_id, body, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def close_case(self, case_id: str, body: dict, actor: dict) -> dict[str, Any]:
        return self._command(self.app.close_case, case_id, body, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def requests_needing_action(self) -> dict[str, Any]:
        return self.app.requests_needing_action()

    @ns.rpc(expected_exceptions=DomainError)
    def contact_points(self, country: str | None) -> list[dict[str, Any]]:
        return self.app.contact_points(country)

    @ns.rpc(expected_exceptions=DomainError)
    def contact_point(self, country: str, kind: str) -> dict[str, Any]:
        return self.app.contact_point(country, kind)

    @ns.rpc(expected_exceptions=DomainError)
    def list_contact_point(self, data: dict, actor: dict) -> dict[str, Any]:
        return self._command(self.app.list_contact_point, data, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def import_contact_points(self, csv_text: str, actor: dict) -> dict[str, int]:
        return self._command(self.app.import_contact_points, csv_text, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def contact_point_changes(self) -> list[dict[str, Any]]:
        return self.app.contact_point_changes()

    @ns.rpc(expected_exceptions=DomainError)
    def confirm_contact_point_change(self, change_id: str, actor: dict) -> dict[str, Any]:
        return self._command(self.app.confirm_contact_point_change, change_id, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def reject_contact_point_change(self, change_id: str, actor: dict) -> dict[str, Any]:
        return self._command(self.app.reject_contact_point_change, change_id, actor)

    @ns.rpc(expected_exceptions=DomainError)
    def outgoing_letter(self, request_id: str) -> dict[str, str]:
        return self.app.outgoing_letter(request_id)
