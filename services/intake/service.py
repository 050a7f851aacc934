"""nameko adapter of intake (distributed mode): RPC in, events out through the relay."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from cp247.errors import DomainError


class IntakeService(ns.ServiceBase):
    name = "intake"
    application = ns.ApplicationProvider("intake")
    relay = ns.OutboxRelay()

    @rpc(expected_exceptions=DomainError)
    def register_request(self, body: dict, actor: dict, custodian_listed: bool) -> dict[str, Any]:
        result = self.app.register_request(body, actor, custodian_listed)
        self.relay.kick()
        return result

    @rpc(expected_exceptions=DomainError)
    def get_case(self, case_id: str) -> dict[str, Any]:
        return self.app.get_case(case_id)

    @rpc(expected_exceptions=DomainError)
    def list_cases(self, filters: dict) -> list[dict[str, Any]]:
        return self.app.list_cases(filters)
