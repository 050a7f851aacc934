"""A service's store, sealed: an HMAC chain over its notification log, kept in that store.

Every record (position, originator id and version, topic, SHA-256 of the stored state) is
chained, in position order, to the one before under a key derived from the event-store key;
a seal (:class:`LedgerSealed`) records the chain's head, how many records it covers and how
many of each kind, up to a position. Verification recomputes every sealed range: a record
deleted, altered or slipped in behind the application's back shows as the range it was in,
with the kinds of record that are missing. What came after the last seal is only counted (an
attacker with the key, or one who also deletes the newest seals, needs anchoring of the heads
outside the system, which is a later step).

Seals are written rarely and never in a user's way: right after a change that matters (a
revoked token), at most every few seconds otherwise (reads), before a verification and by
periodic jobs; a seal that meets another replica's seal gives way, since that one covers it.
Only stores that publish nothing carry seals (a producer's outbox is read by its consumers;
those are cross-checked by the timeline's per-case tallies instead).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from cp247.clock import iso, utcnow
from cp247.runtime.derivation import derive_from_base64, derive_key

log = logging.getLogger(__name__)

LEDGER_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/ledgers")
LEDGER_KEY_LABEL = b"cp247/store-ledger/v1/"  # domain separation from the key's other uses
UNKEYED = b"cp247 store without an event-store key"
GENESIS = "0" * 64
SEAL_EVERY_SECONDS = 5.0  # at most one seal a replica in this time, unless a change matters
PAGE = 1000
SHOWN_POSITIONS = 20


@dataclass(frozen=True)
class LedgerSealed(DomainEvent):
    """The records after the previous seal, up to ``upto``: ``count`` of them, by kind in
    ``kinds``, chained to ``head`` under the key whose fingerprint is ``key_id``."""

    upto: int
    count: int
    head: str
    kinds: dict[str, int]
    key_id: str
    sealed_at: str


SEAL_TOPIC = get_topic(LedgerSealed)


def kind_of(topic: str) -> str:
    """A record's kind as people read it: ``ApiToken.TokenRevoked``."""
    return topic.rpartition(":")[2] or topic


def ledger_keys(env: Any, name: str) -> list[bytes]:
    """The ledger keys of store ``name``: from the current event-store key, then the previous
    ones (a rotation keeps old keys for reading; seals made under them still verify)."""
    masters = [env.get("CIPHER_KEY") or ""]
    masters += [k for k in (env.get("CIPHER_KEYS_PREVIOUS") or "").split(",") if k.strip()]
    label = LEDGER_KEY_LABEL + name.encode()
    if not masters[0].strip():
        # No event-store key (an application built by hand, a unit test): the seals then
        # prove the order of the records, not who made them; every runner sets the key.
        return [derive_key(UNKEYED, label)]
    return [derive_from_base64(m, label) for m in masters]


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"key-id" + key).hexdigest()[:16]


def link(key: bytes, prev: str, notification: Any) -> str:
    """The chain's next head: HMAC over the previous head and one stored record."""
    record = (
        f"{prev}|{notification.id}|{notification.originator_id}|"
        f"{notification.originator_version}|{notification.topic}|"
        f"{hashlib.sha256(bytes(notification.state)).hexdigest()}"
    )
    return hmac.new(key, record.encode(), hashlib.sha256).hexdigest()


class StoreLedger:
    """The sealed ledger of one application's store (``app.ledger``)."""

    def __init__(self, app: Any):
        if app.publishes:  # consumers read its whole log as contract events; seals are none
            raise TypeError(f"{app.name} publishes its events: its store cannot carry seals")
        self.app = app
        self.keys = ledger_keys(app.env, app.name)
        self.seal_id: UUID = uuid5(LEDGER_NAMESPACE, f"ledger|{app.name}")
        self._lock = threading.Lock()
        self._last_attempt = float("-inf")

    # --- sealing ---------------------------------------------------------------------------
    def seal(self) -> LedgerSealed | None:
        """Seal what was recorded since the last seal; None when there was nothing new or
        another replica sealed first (its seal covers the same records)."""
        recorder, mapper = self.app.recorder, self.app.mapper
        with self._lock:
            self._last_attempt = time.monotonic()
            last = self.latest()
            start = last.upto + 1 if last else 1
            upto = recorder.max_notification_id() or 0
            if upto < start:
                return None
            key = self.keys[0]
            head, count, kinds, _ = self._chain(key, last.head if last else GENESIS, start, upto)
            sealed = LedgerSealed(
                originator_id=self.seal_id,
                originator_version=last.originator_version + 1 if last else 1,
                timestamp=LedgerSealed.create_timestamp(),
                upto=upto,
                count=count,
                head=head,
                kinds=dict(kinds),
                key_id=key_id(key),
                sealed_at=iso(utcnow()),
            )
            try:
                recorder.insert_events([mapper.to_stored_event(sealed)])
            except IntegrityError:
                return None
            return sealed

    def seal_soon(self, now: bool = False) -> None:
        """Seal now (``now``) or when this replica has not tried for a few seconds; never
        raises: the request that changed the store has succeeded whatever the seal does."""
        if not now and time.monotonic() - self._last_attempt < SEAL_EVERY_SECONDS:
            return
        try:
            self.seal()
        except Exception as exc:  # the next seal covers these records too
            log.warning("%s: sealing the store failed (%s); later", self.app.name, type(exc))

    def latest(self) -> LedgerSealed | None:
        stored = self.app.recorder.select_events(self.seal_id, desc=True, limit=1)
        return self.app.mapper.to_domain_event(stored[0]) if stored else None

    def seals(self, after: int = 0) -> list[LedgerSealed]:
        """The seals, oldest first; ``after``: only those after the seal of that number."""
        stored = self.app.recorder.select_events(self.seal_id, gt=after or None)
        return [self.app.mapper.to_domain_event(s) for s in stored]

    # --- verification ----------------------------------------------------------------------
    def check(self, incremental: bool = False) -> dict[str, Any]:
        """Seal what is new, then :meth:`verify`: a later change to today's records shows.
        ``incremental``: only the ranges sealed since this process last verified them all."""
        self.seal_soon(now=True)
        report, last = self._verify(self._verified if incremental else None)
        if report["ok"] and last is not None:
            self._verified = last
        return report

    _verified: tuple[int, int, str] | None = None  # (seal number, upto, head) verified

    def verify(self) -> dict[str, Any]:
        return self._verify(None)[0]

    def _verify(
        self, since: tuple[int, int, str] | None
    ) -> tuple[dict[str, Any], tuple[int, int, str] | None]:
        """Recompute every sealed range from the records now in the store (after ``since``:
        the seal number, position and head of the last range already verified).

        ``ok`` is false when a range does not match its seal: ``first_broken`` names the range,
        what went wrong (``deleted``: fewer records than sealed, ``added``: more, ``altered``:
        as many but changed), the kinds of record missing or extra, and the positions in the
        range that hold no record (a deleted record's is among them). A seal itself missing
        shows as the next seal's range not matching.
        """
        seals = self.seals(after=since[0] if since else 0)
        keys = {key_id(k): k for k in self.keys}
        problems: list[dict[str, Any]] = []
        prev_upto, prev_head = (since[1], since[2]) if since else (0, GENESIS)
        for seal in seals:
            key = keys.get(seal.key_id)
            start = prev_upto + 1
            if key is None:
                problems.append(
                    {"from_position": start, "to_position": seal.upto, "problem": "unknown key"}
                )
            else:
                head, count, kinds, gaps = self._chain(key, prev_head, start, seal.upto)
                if (head, count, dict(kinds)) != (seal.head, seal.count, seal.kinds):
                    sealed = Counter(seal.kinds)
                    problem = (
                        "deleted" if count < seal.count else "added" if count > seal.count else
                        "altered"
                    )  # fmt: skip
                    problems.append(
                        {
                            "from_position": start,
                            "to_position": seal.upto,
                            "problem": problem,
                            "sealed_records": seal.count,
                            "found_records": count,
                            "missing": dict(sealed - kinds),
                            "extra": dict(kinds - sealed),
                            "positions_without_record": gaps[:SHOWN_POSITIONS],
                        }
                    )
            prev_upto, prev_head = seal.upto, seal.head  # each range checks on its own
        head_now = self.app.recorder.max_notification_id() or 0
        last = seals[-1] if seals else None
        report: dict[str, Any] = {
            "ok": not problems,
            "seals": last.originator_version if last else (since[0] if since else 0),
            "sealed_upto": prev_upto,
            "unsealed": self._count(prev_upto + 1, head_now) if head_now > prev_upto else 0,
            "broken_ranges": len(problems),
        }
        if problems:
            report["first_broken"] = problems[0]
        verified = (last.originator_version, last.upto, last.head) if last else since
        return report, verified

    def _records(self, start: int, upto: int) -> Iterator[Any]:
        while start <= upto:
            page = self.app.recorder.select_notifications(
                start=start, limit=min(PAGE, upto - start + 1), stop=upto
            )
            if not page:
                return
            yield from page
            start = page[-1].id + 1

    def _count(self, start: int, upto: int) -> int:
        """The records in ``start..upto`` other than seals (the newest seal follows what it
        seals)."""
        return sum(1 for n in self._records(start, upto) if n.topic != SEAL_TOPIC)

    def _chain(
        self, key: bytes, head: str, start: int, upto: int
    ) -> tuple[str, int, Counter[str], list[int]]:
        """The head, count, kinds and positions without a record of ``start..upto``."""
        count, kinds, gaps, expected = 0, Counter[str](), [], start
        for notification in self._records(start, upto):
            if len(gaps) < SHOWN_POSITIONS:
                gaps.extend(range(expected, min(notification.id, expected + SHOWN_POSITIONS)))
            expected = notification.id + 1
            head = link(key, head, notification)
            count += 1
            kinds[kind_of(notification.topic)] += 1
        if len(gaps) < SHOWN_POSITIONS:
            gaps.extend(range(expected, min(upto + 1, expected + SHOWN_POSITIONS)))
        return head, count, kinds, gaps


class SealedStore:
    """For a :class:`~cp247.runtime.application.ServiceApplication` whose store carries a
    sealed ledger (``app.ledger``): what it records is sealed at once, or in batches when
    every event of the change is of a kind in ``sealed_in_batches`` (frequent ones: reads).
    None: never as it records, only by the periodic jobs and before a verification (a
    projection, whose consumer's one commit per batch must stay one)."""

    sealed_in_batches: ClassVar[frozenset[str] | None] = frozenset()

    @cached_property
    def ledger(self) -> StoreLedger:
        return StoreLedger(self)

    def _record(self, processing_event: Any) -> Any:
        recordings = super()._record(processing_event)  # type: ignore[misc]
        kinds = {type(r.domain_event).__name__ for r in recordings or ()}
        batched = self.sealed_in_batches
        if kinds and batched is not None:
            self.ledger.seal_soon(now=not kinds <= batched)
        return recordings


def combine(report: dict[str, Any], **stores: dict[str, Any]) -> dict[str, Any]:
    """``report`` (the timeline's) with each sealed store's report added under its name:
    ``ok`` only when every check is, ``failed`` names those that are not."""
    failed = [*report.get("failed", []), *(name for name, s in stores.items() if not s["ok"])]
    return {**report, **stores, "failed": failed, "ok": not failed}
