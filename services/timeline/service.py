"""nameko adapter of the timeline read model (distributed mode)."""

from __future__ import annotations

import logging
from typing import Any

# Imported as a module so that `nameko run` finds only this file's service class.
from nameko.timer import timer

from cp247 import nameko_support as ns
from cp247.config import Settings
from cp247.errors import DomainError
from services.timeline.anchors import AnchorSinks
from services.timeline.app import TimelineApplication

log = logging.getLogger(__name__)


class TimelineService(ns.ServiceBase):
    application = ns.ApplicationProvider(TimelineApplication)
    relay = ns.OutboxRelay()  # publishes nothing (a read model) but keeps the shape uniform

    @ns.rpc(expected_exceptions=DomainError)
    def audit_verify(self, name_cases: bool = False) -> dict[str, Any]:
        return self.app.audit_verify(self._read_outbox, name_cases)

    @ns.rpc(expected_exceptions=DomainError)
    def anchor(self) -> dict[str, Any]:
        return self._command(self.app.anchor, self._read_outbox, self._sinks())

    @timer(interval=600)
    def anchor_daily(self) -> None:
        """The audit head, anchored outside once a day, by one replica."""
        with self.app.exclusive("anchor") as mine:
            if mine and self.app.anchor_due():
                try:
                    self.app.anchor(self._read_outbox, self._sinks())
                except DomainError as exc:  # a failing check: logged, tried again later
                    log.warning("audit anchor not made: %s", exc)

    @staticmethod
    def _sinks() -> AnchorSinks:
        return AnchorSinks.from_settings(Settings.from_env())

    @timer(interval=5)
    def run_verifications(self) -> None:
        """Full re-verifications asked for, or left unfinished by a replica that stopped."""
        self.app.run_verifications(self._read_outbox)

    def _read_outbox(self, source: str, start: int, limit: int) -> list[dict[str, Any]]:
        return ns.TimedProxy(getattr(self, source), source).outbox(start, limit)
