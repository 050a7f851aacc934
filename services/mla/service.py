"""nameko adapter of mla (distributed mode)."""

from __future__ import annotations

from nameko.timer import timer

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from services.mla.app import MlaApplication


class MlaService(ns.ServiceBase):
    application = ns.ApplicationProvider(MlaApplication)
    relay = ns.OutboxRelay()

    @timer(interval=30)
    def run_clocks(self) -> None:
        """Reminders and overdue follow-ups, derived from recorded events (restart-safe)."""
        self._command(self.app.run_clocks)
