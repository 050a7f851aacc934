"""nameko adapter of mla (distributed mode)."""

from __future__ import annotations

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from services.mla.app import MlaApplication


class MlaService(ns.ServiceBase):
    application = ns.ApplicationProvider(MlaApplication)
    relay = ns.OutboxRelay()
