"""nameko adapter of isp_liaison (distributed mode)."""

from __future__ import annotations

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from services.isp_liaison.app import IspLiaisonApplication


class IspLiaisonService(ns.ServiceBase):
    application = ns.ApplicationProvider(IspLiaisonApplication)
    relay = ns.OutboxRelay()
