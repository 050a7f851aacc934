"""nameko adapter of preservation (distributed mode)."""

from __future__ import annotations

from nameko.timer import timer

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from services.preservation.app import PreservationApplication


class PreservationService(ns.ServiceBase):
    application = ns.ApplicationProvider(PreservationApplication)
    relay = ns.OutboxRelay()

    @timer(interval=30)
    def expire_due(self) -> None:
        """Preservation periods end on the clock, not on a request."""
        if self._command(self.app.expire_due):
            self.relay.kick()
