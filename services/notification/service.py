"""nameko adapter of notification (distributed mode)."""

from __future__ import annotations

from nameko.events import event_handler
from nameko.rpc import RpcProxy

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns


class NotificationService(ns.ServiceBase):
    name = "notification"
    application = ns.ApplicationProvider("notification")
    relay = ns.OutboxRelay()
    intake = RpcProxy("intake")
    isp_liaison = RpcProxy("isp_liaison")

    @event_handler("intake", ns.ALL_EVENTS)
    def from_intake(self, body: dict) -> None:
        self.consume("intake", body)

    @event_handler("isp_liaison", ns.ALL_EVENTS)
    def from_isp_liaison(self, body: dict) -> None:
        self.consume("isp_liaison", body)
