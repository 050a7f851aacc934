"""nameko adapter of notification (distributed mode)."""

from __future__ import annotations

from nameko.timer import timer

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from services.notification.app import NotificationApplication


class NotificationService(ns.ServiceBase):
    application = ns.ApplicationProvider(NotificationApplication)
    relay = ns.OutboxRelay()

    @timer(interval=2)
    def deliver_messages(self) -> None:
        """E-mail what is due (retries follow the recorded back-off)."""
        self._command(self.app.deliver_messages)

    @timer(interval=30)
    def escalate(self) -> None:
        """Alert the next person for alerts nobody took in time."""
        self._command(self.app.escalate)
