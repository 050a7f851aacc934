"""What the audit has verified so far, and the full re-verifications asked for.

Verifying every entry against every producer on each call grows with the history: 19,500
entries took 9 s, and distributed mode timed out near 40,000. So a verified **checkpoint**
(each producer's position and the head hash through it) is kept, and a call verifies only
what was recorded since; its head extends the checkpoint's (one link per increment), so the
head of any day stays in every later head. A **full re-verification**, from the first event
of every producer, is a job of its own (:class:`Verification`) run in the background, with
its progress recorded so that it can be followed, and taken up again after a restart.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.timeline.domain import entry_hash

CHECKPOINT_ID = uuid5(NAMESPACE_URL, "https://cp247.example/audit-checkpoint")
ENTRY_KEYS = ("at", "actor", "service", "event", "summary")  # what an entry's hash covers
# A running job whose progress is older than this lost its process: another takes it up.
STALE_SECONDS = 120


def chain(head: str, entries: list[dict[str, Any]]) -> str:
    """The head after ``entries`` (one increment, or the whole history for the full check),
    in a fixed order whatever order they were recorded in: by time, service, event and the
    producer's position."""
    for entry in sorted(entries, key=increment_order):
        head = entry_hash(head, {k: entry[k] for k in ENTRY_KEYS})
    return head


def increment_order(entry: dict[str, Any]) -> tuple[str, str, str, int]:
    return (entry["at"], entry["service"], entry["event"], entry.get("notification_id", 0))


class AuditCheckpoint(Aggregate):
    """Verified through these positions: every entry of an event at or before them matched
    its producer's event when verified."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return CHECKPOINT_ID

    @event("CheckpointStarted")
    def __init__(self) -> None:
        self.positions: dict[str, int] = {}
        self.entries = 0
        self.head = ""
        self.verified_at: str | None = None

    @event("CheckpointAdvanced")
    def advance(self, positions: dict[str, int], entries: int, head: str, at: str) -> None:
        self.positions = dict(positions)
        self.entries = entries
        self.head = head
        self.verified_at = at


class Verification(Aggregate):
    """One full re-verification: asked, progressing, finished with its report."""

    @event("VerificationRequested")
    def __init__(self, requested_by: str, name_cases: bool, at: str) -> None:
        self.requested_by = requested_by
        self.name_cases = name_cases  # an admin's: the report may name the broken case
        self.requested_at = at
        self.status = "pending"
        self.done = 0
        self.total: int | None = None
        self.started_at: str | None = None
        self.progressed_at: str | None = None
        self.finished_at: str | None = None
        self.report: dict[str, Any] | None = None

    @event("VerificationProgressed")
    def progressed(self, done: int, total: int, at: str) -> None:
        if self.status == "pending" or self.started_at is None:
            self.started_at = at
        self.status = "running"
        self.done, self.total, self.progressed_at = done, total, at

    @event("VerificationRestarted")
    def restarted(self, at: str) -> None:
        """Its process went away mid-way: counted again from the start by another."""
        self.status, self.done, self.progressed_at = "running", 0, at

    @event("VerificationFinished")
    def finished(self, report: dict[str, Any], at: str) -> None:
        self.status, self.report, self.finished_at = "done", report, at
        self.done = self.total or self.done
