"""Embedded mode: every service in one process, SQLite stores, events delivered in-process.

Delivery reads each upstream's outbox through the event contract, exactly as the distributed
consumers do after a gap, so both modes share the same exactly-once path (:class:`Inbox`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from cp247 import log_redaction
from cp247.bootstrap import APPLICATIONS, make_application
from cp247.config import Settings
from cp247.errors import Conflict
from cp247.runtime.application import schedule_of
from cp247.runtime.deadletter import DeadLetterSeal, JsonlDeadLetters
from cp247.runtime.inbox import Inbox
from cp247.runtime.ledger import SealedStore
from services.timeline.anchors import AnchorSinks

log = logging.getLogger(__name__)

FIRST = {("preservation", "intake"): 0, ("isp_liaison", "preservation"): 1,
         ("notification", "intake"): 2}  # fmt: skip


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler without the ``Server`` header: it named the server and the
    Python version to anyone probing for a known weakness."""

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() != "server":
            super().send_header(keyword, value)


class EmbeddedPlatform:
    """All applications of cp247 in one process; also the gateway's backends."""

    poll_seconds = 0.5  # picks up what the CLI recorded from another process
    sweep_seconds = 30.0  # how often preservation periods are checked for their end

    def __init__(self, settings: Settings):
        self.settings = settings
        self.apps: dict[str, Any] = {
            name: make_application(name, settings) for name in APPLICATIONS
        }
        self.dead_letters = JsonlDeadLetters(
            settings.data_dir / "dead-letters.jsonl", DeadLetterSeal.from_settings(settings)
        )
        self.apps["timeline"].read_outbox = self.read_outbox
        self.apps["timeline"].anchor_sinks = AnchorSinks.from_settings(settings)
        inboxes = [
            Inbox(app, upstream, self.apps[upstream].outbox, self.dead_letters)
            for app in self.apps.values()
            for upstream in app.upstreams
        ]
        # Each delivery round takes the steps people wait for first: the order on its way to
        # the provider, the requesting CP's receipt; then the rest (the timeline last).
        self.inboxes = sorted(inboxes, key=lambda i: FIRST.get((i.app.name, i.upstream), 9))
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._outward_wake = threading.Event()  # events applied: outward jobs run now
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # --- backends for the gateway ----------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        apps = self.__dict__.get("apps", {})
        if name == "identity":
            return apps["gateway"]
        if name in apps:
            return apps[name]
        raise AttributeError(name)

    def read_outbox(self, source: str, start: int, limit: int) -> list[dict[str, Any]]:
        return self.apps[source].outbox(start, limit)

    def changed(self) -> None:
        self._wake.set()

    def ready(self) -> dict[str, bool]:
        checks = {}
        for name, app in self.apps.items():
            try:
                app.outbox_head()
                checks[name] = True
            except Exception:
                checks[name] = False
        return checks

    # --- delivery --------------------------------------------------------------------------
    def periodic_jobs(self, outward: bool, prompt_only: bool = False) -> list[Callable[[], Any]]:
        """The applications' periodic jobs (``@every``): those that talk to the outside world
        (e-mail, webhooks) or are slow run on a thread of their own, the others on each sweep;
        ``prompt_only``: just those to run as soon as events were applied."""
        return [
            getattr(app, name)
            for app in self.apps.values()
            for name, schedule in schedule_of(type(app)).items()
            if schedule.outward == outward and (schedule.prompt or not prompt_only)
        ]

    def deliver(self) -> int:
        """Apply every pending event everywhere; returns how many were applied."""
        total = 0
        with self._lock:
            while True:
                applied = sum(inbox.catch_up() for inbox in self.inboxes)
                total += applied
                if not applied:
                    return total

    def _run(self) -> None:
        next_sweep = 0.0
        while not self._stopping.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            try:
                if time.monotonic() >= next_sweep:
                    for job in self.periodic_jobs(outward=False):  # clocks, expiry, escalation
                        job()
                    for app in self.apps.values():  # the records of a quiet moment too
                        if isinstance(app, SealedStore):
                            app.ledger.seal_soon()
                    next_sweep = time.monotonic() + self.sweep_seconds
                if self.deliver():
                    self._outward_wake.set()  # what the events asked for goes out at once
            except Exception:  # keep delivering; the failure is logged and retried
                log.exception("embedded delivery failed; retrying")
                self._stopping.wait(1.0)

    def _anchor_when_due(self) -> None:
        """The audit head, anchored outside once a day (services/timeline/anchors.py)."""
        timeline = self.apps["timeline"]
        if timeline.anchor_due():
            try:
                timeline.anchor()
            except Conflict as exc:  # a failing check: said, and tried again next sweep
                log.warning("audit anchor not made: %s", exc)

    def _push_webhooks(self) -> None:
        """Its own thread: a slow provider endpoint or mail server must not hold up events."""
        every_job_at = 0.0  # woken often under load: the others still run each poll
        while not self._stopping.is_set():
            self._outward_wake.wait(self.poll_seconds)
            self._outward_wake.clear()
            if self._stopping.is_set():
                return
            now = time.monotonic()
            prompt_only = now < every_job_at
            if not prompt_only:
                every_job_at = now + self.poll_seconds
            try:
                jobs = self.periodic_jobs(outward=True, prompt_only=prompt_only)  # webhooks, e-mail
                done = [job() for job in jobs]
                if any(done):
                    self.changed()
            except Exception:
                log.exception("webhook dispatch failed; retrying")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cp247-delivery", daemon=True)
        self._thread.start()
        self._webhooks = threading.Thread(
            target=self._push_webhooks, name="cp247-webhooks", daemon=True
        )
        self._webhooks.start()
        self._verifier = threading.Thread(
            target=self._run_verifications, name="cp247-verifications", daemon=True
        )
        self._verifier.start()

    def _run_verifications(self) -> None:
        """Its own thread: a full re-verification of a long history takes minutes, and so
        does the first check before the first anchor of a store from an earlier version."""
        next_anchor_check = time.monotonic() + self.sweep_seconds  # not while starting up
        while not self._stopping.wait(self.poll_seconds):
            try:
                self.apps["timeline"].run_verifications()
                if time.monotonic() >= next_anchor_check:  # a day's due, looked at each sweep
                    next_anchor_check = time.monotonic() + self.sweep_seconds
                    self._anchor_when_due()
            except Exception:  # the delivery thread, which orders wait on, is never held up
                log.exception("audit verification failed; retrying")

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._outward_wake.set()
        for thread in (self._thread, getattr(self, "_webhooks", None),
                       getattr(self, "_verifier", None)):  # fmt: skip
            if thread:
                thread.join(timeout=5)
        for app in self.apps.values():
            app.close()

    def serve(self, host: str, port: int) -> Any:
        """A threaded HTTP server for the gateway (call ``serve_forever`` on it)."""
        from services.gateway.api import Gateway

        log_redaction.install()
        return make_server(
            host, port, Gateway(self).wsgi, threaded=True, request_handler=QuietRequestHandler
        )
