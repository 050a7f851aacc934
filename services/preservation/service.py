"""nameko adapter of preservation (distributed mode)."""

from __future__ import annotations

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from services.preservation.app import PreservationApplication


class PreservationService(ns.ServiceBase):
    application = ns.ApplicationProvider(PreservationApplication)
    relay = ns.OutboxRelay()
