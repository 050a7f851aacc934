"""nameko adapter of notification (distributed mode)."""

from __future__ import annotations

# Imported as a module so that `nameko run` finds only this file's service class.
from cp247 import nameko_support as ns
from services.notification.app import NotificationApplication


class NotificationService(ns.ServiceBase):
    application = ns.ApplicationProvider(NotificationApplication)
    relay = ns.OutboxRelay()
