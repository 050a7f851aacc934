"""nameko adapter of intake (distributed mode): RPC in, events out through the relay."""

from __future__ import annotations

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from services.intake.app import IntakeApplication


class IntakeService(ns.ServiceBase):
    application = ns.ApplicationProvider(IntakeApplication)
    relay = ns.OutboxRelay()
