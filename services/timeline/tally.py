"""What the timeline applied of each producer, per case: how many events and the last one's
position, kept apart from the entries.

Entries can be deleted in step with the producer's records and its consumers' (a refusal
erased from intake, notification and the timeline at once): the entries then agree with the
producers. The tally does not: verification counts each producer's events of the case again
and compares (:func:`compare`).
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

TALLY_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/case-tallies")

Counts = dict[tuple[str, str], tuple[int, int]]  # (case id, producer) -> (events, last position)


def tally_id(case_id: str) -> UUID:
    return uuid5(TALLY_NAMESPACE, case_id)


class CaseTally(Aggregate):
    """Per producer: the events about one case the timeline applied, and the last position."""

    @staticmethod
    def create_id(case_id: str, **_: Any) -> UUID:
        return tally_id(case_id)

    @event("TallyStarted")
    def __init__(self, case_id: str):
        self.case_id = case_id
        self.producers: dict[str, dict[str, int]] = {}

    @event("EventTallied")
    def tally(self, producer: str, position: int) -> None:
        counted = self.producers.setdefault(producer, {"events": 0, "last_position": 0})
        counted["events"] += 1
        counted["last_position"] = max(counted["last_position"], position)


def compare(applied: Counts, held: Counts) -> list[dict[str, Any]]:
    """Every (case, producer) whose tally (``expected``: what the timeline applied) differs from
    what the producer's store holds now (``found``), in case and producer order."""
    mismatches = []
    for case_id, producer in sorted(applied.keys() | held.keys()):
        want, have = applied.get((case_id, producer), (0, 0)), held.get((case_id, producer), (0, 0))
        if want != have:
            mismatches.append(
                {
                    "case_id": case_id,
                    "producer": producer,
                    "expected": {"events": want[0], "last_position": want[1]},
                    "found": {"events": have[0], "last_position": have[1]},
                }
            )
    return mismatches
