"""The read audit as figures, for oversight (issue 18, item 4).

An admin sees who read one case (:class:`~services.gateway.identity.ReadLog`); an oversight
body may see no case, yet must be able to spot misuse: someone reading far more than the
others, reading at night when not on duty, or reading cases they have no part in. So every
audited read is also counted, per user and month, with two facts decided when it happens:

- **outside duty hours**: the reader is one of the people of their contact point's duty roster
  (``CP247_ROSTER``; a person's ``username``, by default their id there, is their cp247 login)
  and is not the one on duty at that moment. Decided at the read, because rosters and
  overrides change. Someone the roster does not list has no duty hours to compare with:
  their figure is ``null``.
- **the case read**, where the read is of a case's records: whether the reader had a part in
  it (an entry of theirs on its timeline) is asked when the figures are, since a part can come
  after the read (an officer reads a case, then takes it).

Figures only leave: counts per user and month, never a case id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from cp247.clock import iso, month_of
from cp247.runtime.application import load
from services.notification.roster import CONTACT_POINTS, Roster

READS_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/read-figures")
# Events of the counting aggregates: frequent, like reads themselves, so sealed in batches.
EVENT_NAMES = frozenset({"ReadMonthStarted", "ReaderCounted", "UserReadsStarted", "ReadCounted"})
# Providers read only orders addressed to them: they have a part in each by construction.
NO_CASE_PART_ROLES = ("isp",)

Participants = Callable[[list[str]], dict[str, list[str]]]


class ReadMonth(Aggregate):
    """Who read anything in one month: the index of that month's :class:`UserReads`."""

    @staticmethod
    def create_id(month: str, **_: Any) -> UUID:
        return uuid5(READS_NAMESPACE, f"month|{month}")

    @event("ReadMonthStarted")
    def __init__(self, month: str):
        self.month = month
        self.readers: list[str] = []

    @event("ReaderCounted")
    def add(self, username: str) -> None:
        self.readers.append(username)


class UserReads(Aggregate):
    """One user's audited reads in one month, counted."""

    @staticmethod
    def create_id(month: str, username: str, **_: Any) -> UUID:
        return uuid5(READS_NAMESPACE, f"user|{month}|{username}")

    @event("UserReadsStarted")
    def __init__(self, month: str, username: str, role: str):
        self.month = month
        self.username = username
        self.role = role
        self.reads = 0
        self.outside_duty: int | None = None  # None: the roster gives them no duty hours
        self.cases: dict[str, int] = {}  # case id -> reads of its records

    @event("ReadCounted")
    def count(self, outside_duty: bool | None, case_id: str | None) -> None:
        self.reads += 1
        if outside_duty is not None:
            self.outside_duty = (self.outside_duty or 0) + int(outside_duty)
        if case_id is not None:
            self.cases[case_id] = self.cases.get(case_id, 0) + 1


def outside_duty(roster: Roster, role: str, username: str, at: datetime) -> bool | None:
    """Whether a read at ``at`` falls outside the reader's duty hours; None when the roster of
    their contact point does not list them (or they belong to none)."""
    person = roster.person_of_user(role, username) if role in CONTACT_POINTS else None
    if person is None:
        return None
    on_duty = roster.on_duty(role, at)
    return on_duty is None or on_duty.id != person.id


def counted(
    repository: Any,
    username: str,
    role: str,
    at: datetime,
    outside: bool | None,
    case_id: str | None,
) -> list[Aggregate]:
    """The aggregates one read changes, to be saved with the read's own log entry."""
    # legal-rule: art15-2-read-figures-for-supervision (independent supervision, Art 15(2))
    month = month_of(iso(at))
    changed: list[Aggregate] = []
    reads = load(repository, str(UserReads.create_id(month, username)), UserReads)
    if reads is None:
        reads = UserReads(month, username, role)
        index = load(repository, str(ReadMonth.create_id(month)), ReadMonth) or ReadMonth(month)
        index.add(username)
        changed.append(index)
    reads.count(outside, None if role in NO_CASE_PART_ROLES else case_id)
    return [*changed, reads]


def figures(repository: Any, months: Iterable[str], participants: Participants) -> dict[str, Any]:
    """Per user and month: reads, reads outside duty hours, reads of cases without a part.
    ``participants`` answers, for case ids, who has an entry on each case's timeline (a case
    it does not know, e.g. erased, is left out and counted as neither)."""
    counted_reads: list[UserReads] = []
    for month in months:
        index = load(repository, str(ReadMonth.create_id(month)), ReadMonth)
        for username in index.readers if index else ():
            reads = load(repository, str(UserReads.create_id(month, username)), UserReads)
            if reads is not None:
                counted_reads.append(reads)
    case_ids = sorted({case_id for reads in counted_reads for case_id in reads.cases})
    parts = participants(case_ids) if case_ids else {}
    rows = [_row(reads, parts) for reads in counted_reads]
    rows.sort(key=lambda row: (row["month"], row["username"]))
    return {"users": rows, "totals": _totals(rows)}


def _row(reads: UserReads, parts: dict[str, list[str]]) -> dict[str, Any]:
    without_part = None
    if reads.role not in NO_CASE_PART_ROLES:
        without_part = sum(
            n
            for case_id, n in reads.cases.items()
            if case_id in parts and reads.username not in parts[case_id]
        )
    return {
        "month": reads.month,
        "username": reads.username,
        "role": reads.role,
        "reads": reads.reads,
        "cases_read": len(reads.cases),
        "outside_duty_hours": reads.outside_duty,
        "of_cases_without_part": without_part,
    }


def _totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    keys = ("reads", "outside_duty_hours", "of_cases_without_part")
    return {key: sum(row[key] or 0 for row in rows) for key in keys}
