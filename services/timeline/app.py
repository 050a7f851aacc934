"""The timeline application: a read model over every service's events."""

from __future__ import annotations

import copy
import heapq
import multiprocessing
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from types import SimpleNamespace
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import ProcessingEvent, Repository
from eventsourcing.domain import Aggregate, OriginatorVersionError
from eventsourcing.persistence import IntegrityError, StoredEvent, Tracking
from eventsourcing.utils import get_topic

from cp247.casekeys import vault_settings
from cp247.clock import iso, month_of, months_between, parse_iso, utcnow
from cp247.errors import Conflict, NotFound
from cp247.runtime.application import ServiceApplication, command, load, query, require
from cp247.runtime.eventsourcing_internals import insert_in_one_transaction
from cp247.runtime.ledger import SealedStore
from events import Message
from services.timeline.anchors import (
    ANCHOR_EVERY_SECONDS,
    ANCHORS_ID,
    AnchorChain,
    AnchorSinks,
    signature_problem,
)
from services.timeline.decoding import decode_page
from services.timeline.domain import (
    GENESIS,
    CaseTimeline,
    summarise,
    timeline_id,
)
from services.timeline.statistics import (
    DURATIONS,
    MonthFigures,
    YearFigures,
    counts_of,
    empty_report,
    family,
    figures_id,
    merged_report,
    milestones_of,
    month_id,
    seconds_between,
)
from services.timeline.tally import CaseTally, Counts, compare, tally_id
from services.timeline.verification import (
    CHECKPOINT_ID,
    ENTRY_KEYS,
    STALE_SECONDS,
    AuditCheckpoint,
    Verification,
    chain,
)

SOURCES = ("intake", "preservation", "isp_liaison", "mla", "notification")
Reader = Callable[[str, int, int], list[dict[str, Any]]]
A = TypeVar("A", bound=Aggregate)

VERIFICATION_PROGRESS_SECONDS = 2.0  # how often a running verification records progress
REBUILD_BATCH = 1000  # upstream events per transaction
REBUILD_PAGE = 1000  # outbox messages per read
REBUILD_RECENT = 20_000  # aggregates kept in memory between batches (cases still active)
REBUILD_PREFETCH = 2  # pages per upstream being decoded ahead


@dataclass(frozen=True)
class RebuildProgress:
    """How far a rebuild has come; ``total`` is known when the caller could count it."""

    events: int
    seconds: float
    total: int | None = None

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if self.total is None or not self.rate:
            return None
        return max(0, self.total - self.events) / self.rate


def arrival(message: Message) -> tuple[str, str, int]:
    """The order a live consumer sees the services' events in: as they were recorded (ties:
    by service and notification id, like the timeline's own chain order)."""
    return (message.recorded_at, message.source, message.notification_id)


class TimelineApplication(SealedStore, ServiceApplication):
    name = "timeline"
    upstreams = SOURCES
    publishes = False  # a read model: its entries are served by query, not published
    read_model = True
    snapshotting_intervals = {
        CaseTimeline: 50, MonthFigures: 20, CaseTally: 50, AuditCheckpoint: 20,
    }  # fmt: skip
    policy_cache_size = 4000
    sealed_in_batches = None  # sealed by periodic jobs, off the consumer's path (ledger.py)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._verifying = threading.Lock()  # one full re-verification at a time here
        # Every event loads its case's timeline and tally: measured (py-spy, max phase), those
        # loads were half of this service's CPU, two store round trips each. The policy reads
        # them through a cache of its own: a cached aggregate is brought up to date with one
        # query for the events after it (eventsourcing's fast-forward, so another replica's
        # writes are seen) and handed out as a copy. Queries and the audit read the store.
        cached = Repository(
            event_store=self.repository.event_store,
            snapshot_store=self.repository.snapshot_store,
            cache_maxsize=self.policy_cache_size,
        )
        self._policy_repository = SimpleNamespace(get=self._get_in_batch(cached.get))

    def apply_policy(self, message: Message, processing: ProcessingEvent) -> None:
        """Every published event about a case becomes the next entry of that case's timeline,
        and is counted in the case's tally of its producer. A producer's private bookkeeping
        arrives as its position only: no case, nothing recorded but the position."""
        case_id = message.payload.get("case_id")
        if case_id:
            tally = self._load(tally_id(case_id), CaseTally) or CaseTally(case_id=case_id)
            tally.tally(message.source, message.notification_id)
            processing.collect_events(tally)
            timeline = self._load(timeline_id(case_id), CaseTimeline)
            if timeline is None:
                timeline = CaseTimeline(case_id=case_id)
            known = dict(timeline.milestones)
            milestones = milestones_of(message.event, message.payload, message.recorded_at)
            entry = self._entry_of(message)
            timeline.record(
                at=entry["at"],
                actor=entry["actor"],
                service=entry["service"],
                event_name=entry["event"],
                summary=entry["summary"],
                source={"service": message.source, "notification_id": message.notification_id},
                milestones=milestones,
            )
            processing.collect_events(timeline)
            self._count(message, known, milestones, processing)

    def _load(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate as the policy sees it: during a rebuild from memory where it is."""
        memory = self._rebuilding
        if memory is None:
            return load(self._policy_repository, str(aggregate_id), kind)
        return memory.load(aggregate_id, kind)

    _rebuilding: _RebuildMemory | None = None

    # --- rebuild -----------------------------------------------------------------------------
    def rebuild(
        self,
        read: Reader | None = None,
        *,
        total: int | None = None,
        progress: Callable[[RebuildProgress], None] | None = None,
        batch_size: int = REBUILD_BATCH,
    ) -> RebuildProgress:
        """Build this projection afresh from every upstream's outbox, from the start.

        The outboxes are merged in the order the events were recorded, which is how a live
        consumer meets them; each upstream's own order is kept. The same policy as live
        consumption decides every entry and figure, but a batch of events is written in
        one transaction with the last position of each upstream, the aggregates it touched
        staying in memory: afterwards ``position(upstream)`` is each upstream's last
        notification id, so live consumption resumes with the next one. ``progress`` is
        called after every batch. Only an empty store is rebuilt into: a partly built or live
        one would be counted twice.
        """
        read = read or self.read_outbox
        if read is None:
            raise Conflict("no access to the producers' stores from here")
        if self.recorder.max_notification_id() or any(self.position(s) for s in self.upstreams):
            raise Conflict(
                "the timeline store is not empty: a rebuild starts from a fresh store "
                "(move the timeline's store aside first)"
            )
        # Decoding (contract validation) is as costly as the rest: a worker on another core
        # decodes the next pages while this process applies and records the current one.
        pool = (
            ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            if (os.cpu_count() or 1) > 1 and (total is None or total > 5 * REBUILD_PAGE)
            else None  # a small store is rebuilt before a worker would have started
        )
        merged = heapq.merge(
            *(
                self._outbox_messages(read, source, pool, vault_settings(self.env))
                for source in self.upstreams
            ),
            key=arrival,
        )
        started, done = time.perf_counter(), 0
        self._rebuilding = memory = _RebuildMemory(self)
        try:
            while batch := list(islice(merged, batch_size)):
                self._rebuild_batch(batch, memory)
                done += len(batch)
                if progress is not None:
                    progress(RebuildProgress(done, time.perf_counter() - started, total))
        finally:
            self._rebuilding = None
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        return RebuildProgress(done, time.perf_counter() - started, total)

    @staticmethod
    def _outbox_messages(
        read: Reader, source: str, pool: Executor | None, vault: dict[str, str]
    ) -> Iterator[Message]:
        """One upstream's outbox in order, decoded (by ``pool`` when given, pages ahead;
        it opens sealed fields with the vault those settings name)."""
        start, pending = 1, deque[Future[list[Message]]]()
        while True:
            while len(pending) < (REBUILD_PREFETCH if pool else 1):
                bodies = read(source, start, REBUILD_PAGE)
                if not bodies:
                    break
                start = bodies[-1]["notification_id"] + 1
                if pool is None:
                    done: Future[list[Message]] = Future()
                    done.set_result(decode_page(bodies, vault))
                    pending.append(done)
                else:
                    pending.append(pool.submit(decode_page, bodies, vault))
            if not pending:
                return
            yield from pending.popleft().result()

    def _rebuild_batch(self, batch: list[Message], memory: _RebuildMemory) -> None:
        """Apply the policy to each message as :meth:`process` would; record them at once."""
        events: list[Any] = []
        due: dict[UUID, Aggregate] = {}
        positions: dict[str, Tracking] = {}
        for message in batch:
            tracking = Tracking(message.source, message.notification_id)
            processing = _BatchProcessing(tracking)
            self.apply_policy(message, processing)
            events.extend(processing.events)
            memory.touched.update(processing.aggregates)
            positions[message.source] = tracking
            due.update(self._snapshots_due(processing))
        stored = [self.mapper.to_stored_event(event) for event in events]
        # One snapshot per aggregate and batch, of its state at the batch's end: the year's
        # figures reach a snapshot interval several times in a batch, and encoding each
        # snapshot was a third of the rebuild's time.
        snapshots = [self.mapper.to_stored_event(type(a).Snapshot.take(a)) for a in due.values()]
        self._record_batch(stored, snapshots, list(positions.values()))
        memory.committed()

    def _snapshots_due(self, processing: ProcessingEvent) -> Iterator[tuple[UUID, Aggregate]]:
        """The aggregates due a snapshot where live processing takes one (every ``interval``
        versions)."""
        if not self.snapshots:
            return
        for event in processing.events:
            aggregate = processing.aggregates[event.originator_id]
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval and event.originator_version % interval == 0:
                yield event.originator_id, aggregate

    def _record_batch(
        self, stored: list[StoredEvent], snapshots: list[StoredEvent], positions: list[Tracking]
    ) -> None:
        """One transaction for a batch's events, snapshots and upstream positions on SQLite.

        A processing event carries one tracking record; a batch has one per upstream, so on
        SQLite the recorder's own statements run in one transaction here. Elsewhere the events
        go with the first position and the other positions follow: a rebuild cut short
        leaves a store that is not empty, which is refused, so it is started afresh anyway.
        """
        recorder, snapshot_recorder = self.recorder, self.snapshots and self.snapshots.recorder
        if insert_in_one_transaction(recorder, snapshot_recorder, stored, snapshots, positions):
            return
        recorder.insert_events(stored, tracking=positions[0])
        for tracking in positions[1:]:
            recorder.insert_tracking(tracking)
        if snapshots and snapshot_recorder is not None:
            snapshot_recorder.insert_events(snapshots)

    # --- figures for oversight ---------------------------------------------------------------
    def _count(
        self,
        message: Message,
        known: dict[str, str],
        new: dict[str, str],
        processing: ProcessingEvent,
    ) -> None:
        """Update the month's figures with what this event completes (in whatever order the
        services' events arrive: a duration is measured when its second end is known). A year,
        like any period, is the sum of its months: one record per count, not two."""
        figures: dict[str, MonthFigures] = {}

        def month(at: str) -> MonthFigures:
            key = month_of(at)
            if key not in figures:
                figures[key] = self._load(month_id(key), MonthFigures) or MonthFigures(year=key)
            return figures[key]

        payload, marks = message.payload, {**known, **new}
        # Counted in the month it happened: a request when it arrived.
        happened = payload.get("received_at") or message.recorded_at
        if message.event == "RequestReceived":
            month(happened).count_request(
                payload["direction"], family(payload["type"]), payload["counterpart_country"]
            )
        for group, key in counts_of(message.event, payload):
            month(happened).count(group, key)
        for kind, (start, end) in DURATIONS.items():
            refs = {key.partition(":")[2] for key in new if key.partition(":")[0] in (start, end)}
            for ref in refs:
                begin, finish = f"{start}:{ref}", f"{end}:{ref}"
                if begin in marks and finish in marks and not (begin in known and finish in known):
                    month(marks[begin]).measure(kind, seconds_between(marks[begin], marks[finish]))
        for key, at in new.items():
            name, _, order_id = key.partition(":")
            if name == "issued":
                month(at).count_order("issued")
            elif name == "mla" and key not in known:
                issued, expires = marks.get(f"issued:{order_id}"), marks.get(f"expires:{order_id}")
                if issued and expires and at <= expires:
                    month(issued).count_order("followed_by_mla_in_time")
        if message.event == "OrderExpired" and f"mla:{payload['order_id']}" not in marks:
            issued = marks.get(f"issued:{payload['order_id']}")
            if issued:
                month(issued).count_order("expired_without_mla")
        processing.collect_events(*figures.values())

    # --- audit -------------------------------------------------------------------------------
    def audit_verify(self, read: Reader | None = None, name_cases: bool = False) -> dict[str, Any]:
        """Verify what was recorded since the last verified checkpoint, then move it on.

        Each producer's events after the checkpoint's position are compared with their
        timeline entries (missing, altered) and with the case tallies (deletions in step);
        the sealed timeline store's new seals are verified. The answer takes as long as the
        new records, whatever the history (the full re-verification is :meth:`full_verify`,
        a background job). ``head_hash`` extends the checkpoint's head by this increment.
        """
        read = self._reader(read)
        checkpoint = load(self.repository, str(CHECKPOINT_ID), AuditCheckpoint)
        since = dict(checkpoint.positions) if checkpoint else {}
        report = self._verify(read, since, name_cases, None)
        report["timeline_store"] = self.ledger.check(incremental=True)
        report = self._conclude(report)
        new = report.pop("_new_entries")
        head = chain(checkpoint.head if checkpoint and checkpoint.head else GENESIS, new)
        entries = (checkpoint.entries if checkpoint else 0) + len(new)
        report.update(entries=entries, head_hash=head)
        if report["ok"]:
            verified_at = iso(utcnow())
            checkpoint = checkpoint or AuditCheckpoint()
            positions = report.pop("_positions")
            if positions != checkpoint.positions or checkpoint.verified_at is None:
                checkpoint.advance(positions, entries, head, verified_at)
                try:
                    self.save(checkpoint)
                except IntegrityError:  # another verification moved it on at the same moment
                    pass
            report["verified_through"] = {"at": checkpoint.verified_at or verified_at,
                                          "positions": dict(checkpoint.positions)}  # fmt: skip
        else:
            report["verified_through"] = {
                "at": checkpoint.verified_at if checkpoint else None,
                "positions": since,
            }
        report.pop("_positions", None)
        return report

    def full_verify(
        self,
        read: Reader | None = None,
        name_cases: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Recompute every timeline entry from the producers' stores, from their first event,
        and compare; every tally and every seal of the timeline store too. ``progress(done,
        total)`` is told of the producers' events read so far. Slow on a long history: run
        as a job (:meth:`request_verification`), or by ``cp247 audit verify --full``."""
        read = self._reader(read)
        report = self._verify(read, {}, name_cases, progress)
        report["timeline_store"] = self.ledger.check()
        report = self._conclude(report)
        entries = report.pop("_new_entries")
        report.update(entries=len(entries), head_hash=chain(GENESIS, entries))
        report["verified_through"] = {"at": iso(utcnow()), "positions": report.pop("_positions")}
        return report

    # --- anchors outside the system ---------------------------------------------------------------
    anchor_sinks: AnchorSinks | None = None  # set by the platform: the key, file and mail

    def anchor(
        self, read: Reader | None = None, sinks: AnchorSinks | None = None
    ) -> dict[str, Any]:
        """Anchor the head of what the quick check verifies now: signed, appended to the
        anchor file and e-mailed (``sinks``). ``409`` when the check fails: a broken history
        is not anchored."""
        read = self._reader(read)
        sinks = sinks or self.anchor_sinks
        if sinks is None:
            raise Conflict("no anchor file or signing key configured here")
        report = self.audit_verify(read)
        if not report["ok"]:
            raise Conflict(
                "the audit check fails (" + ", ".join(report["failed"]) + "): nothing is "
                "anchored until that is explained"
            )
        anchors = load(self.repository, str(ANCHORS_ID), AnchorChain) or AnchorChain()
        positions = report["verified_through"]["positions"]
        entries = self._chain_entries(read, anchors.positions, positions)
        previous = anchors.head or GENESIS
        record: dict[str, Any] = {
            "anchor": anchors.count + 1,
            "at": iso(utcnow()),
            "positions": positions,
            "entries": anchors.entries + len(entries),
            "head": chain(previous, entries),
            "previous_head": previous,
        }
        record["signature"] = sinks.sign(record)
        sent = sinks.publish(record)  # the file first: an anchor nobody holds is none
        anchors.anchored(positions, record["head"], record["entries"], record["at"])
        self.save(anchors)
        return {**record, "sent": sent}

    def anchor_due(self) -> bool:
        """A day since the last anchor (or none yet, once there is history)."""
        anchors = load(self.repository, str(ANCHORS_ID), AnchorChain)
        if anchors is None or anchors.at is None:
            return any(self.position(s) for s in self.upstreams)
        return (utcnow() - parse_iso(anchors.at)).total_seconds() >= ANCHOR_EVERY_SECONDS

    def verify_anchors(
        self, read: Reader | None, records: list[dict[str, Any]], trusted_pem: str | None = None
    ) -> dict[str, Any]:
        """Recompute the chain from the producers' stores, anchor by anchor, and compare each
        head with the anchored one; ``ok`` false names the first that differs (a rewritten
        history), or a signature or a sequence that does not hold."""
        read = self._reader(read)
        head, positions = GENESIS, {}
        ordered = sorted(records, key=lambda r: r["anchor"])
        for expected_number, record in enumerate(ordered, start=1):
            problem = None
            if record["anchor"] != expected_number:
                problem = f"anchor {expected_number} is missing from the file"
            else:
                problem = signature_problem(record, trusted_pem)
            if problem is None:
                entries = self._chain_entries(read, positions, record["positions"])
                head = chain(head, entries)
                if head != record["head"]:
                    problem = "today's history does not give the anchored head"
            if problem:
                return {"ok": False, "anchors": len(ordered), "verified": expected_number - 1,
                        "first_failure": {"anchor": record["anchor"], "at": record["at"],
                                          "problem": problem}}  # fmt: skip
            positions = record["positions"]
        return {"ok": True, "anchors": len(ordered), "verified": len(ordered), "head": head}

    def _chain_entries(
        self, read: Reader, since: dict[str, int], upto: dict[str, int]
    ) -> list[dict[str, Any]]:
        """The entries the producers' events after ``since`` up to ``upto`` give (an erased
        case's with the summary the timeline kept: its personal fields are gone)."""
        entries: list[dict[str, Any]] = []
        kept: dict[str, dict[tuple[str, int], str]] = {}  # erased case -> its kept summaries
        for message in self._produced(read, since, upto):
            case_id = message.payload.get("case_id")
            if case_id:
                entry = {**self._entry_of(message), "notification_id": message.notification_id}
                if case_id in kept or self.shredded(case_id):
                    summaries = kept.get(case_id)
                    if summaries is None:
                        summaries = kept[case_id] = self._kept_summaries(case_id)
                    key = (message.source, message.notification_id)
                    entry["summary"] = summaries.get(key, entry["summary"])
                entries.append(entry)
        return entries

    def _produced(
        self,
        read: Reader,
        since: dict[str, int],
        upto: dict[str, int],
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[Message]:
        """Each producer's events after ``since`` up to ``upto``, decoded, producer by
        producer; ``progress(n)`` after each page of ``n``."""
        for source in self.upstreams:
            start, end = since.get(source, 0) + 1, upto.get(source, 0)
            while start <= end:
                batch = read(source, start, min(500, end - start + 1))
                if not batch:
                    break
                for body in batch:
                    yield self.decode(body)
                if progress is not None:
                    progress(len(batch))
                start = batch[-1]["notification_id"] + 1

    def _kept_summaries(self, case_id: str) -> dict[tuple[str, int], str]:
        """The summaries the case's timeline kept, by source event."""
        timeline = load(self.repository, str(timeline_id(case_id)), CaseTimeline)
        return {
            (r["source"]["service"], r["source"]["notification_id"]): r["summary"]
            for r in (timeline.recorded if timeline else ())
        }

    # --- full re-verifications, as jobs ---------------------------------------------------------
    @command
    def request_verification(self, requested_by: str, name_cases: bool = False) -> dict[str, Any]:
        """Ask for a full re-verification; a runner (:meth:`run_verifications`) takes it up."""
        job = Verification(requested_by=requested_by, name_cases=name_cases, at=iso(utcnow()))
        self.save(job)
        return self.verification_view(job)

    @query
    def verification(self, verification_id: str) -> dict[str, Any]:
        try:
            UUID(verification_id)
        except ValueError:
            raise NotFound("no such verification") from None
        job = require(self.repository, verification_id, Verification, "verification")
        return self.verification_view(job)

    def run_verifications(self, read: Reader | None = None) -> int:
        """Run every full re-verification that waits, or whose runner went away (its progress
        is older than a few minutes: a restart); one runner at a time across replicas."""
        ran = 0
        if not self._verifying.acquire(blocking=False):  # this process runs one already
            return 0
        try:
            with self.exclusive("verification") as mine:
                if not mine:
                    return 0
                for job in list(self.created(Verification.VerificationRequested)):
                    if job.status == "pending" or (job.status == "running" and _stale(job)):
                        self._run_verification(job, self._reader(read))
                        ran += 1
        finally:
            self._verifying.release()
        return ran

    def _run_verification(self, job: Verification, read: Reader) -> None:
        if job.status == "running":
            job.restarted(at=iso(utcnow()))
        shown = [0.0]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - shown[0] >= VERIFICATION_PROGRESS_SECONDS:
                job.progressed(done=done, total=total, at=iso(utcnow()))
                self.save(job)
                shown[0] = time.monotonic()

        progress(0, sum(self.position(s) for s in self.upstreams))
        report = self.full_verify(read, job.name_cases, progress)
        job.finished(report=report, at=iso(utcnow()))
        self.save(job)

    @staticmethod
    def verification_view(job: Verification) -> dict[str, Any]:
        total = job.total
        percent = 100 if job.status == "done" else (
            int(100 * job.done / total) if total else 0
        )  # fmt: skip
        eta = None
        if job.status == "running" and job.started_at and job.done and total:
            spent = (parse_iso(job.progressed_at) - parse_iso(job.started_at)).total_seconds()
            eta = round(spent / job.done * max(0, total - job.done))
        return {
            "verification_id": str(job.id),
            "status": job.status,
            "requested_by": job.requested_by,
            "requested_at": job.requested_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "progress": {"done": job.done, "total": total, "percent": percent},
            "eta_seconds": eta,
            "result": job.report,
        }

    def _reader(self, read: Reader | None) -> Reader:
        read = read or self.read_outbox
        if read is None:
            raise Conflict("no access to the producers' stores from here")
        return read

    def _verify(
        self,
        read: Reader,
        since: dict[str, int],
        name_cases: bool,
        progress: Callable[[int, int], None] | None,
    ) -> dict[str, Any]:
        """Compare each producer's events after ``since`` (all, when empty) with the timeline.

        An entry that is missing here, altered, or has no source event is the first broken
        entry (in recorded-time order). Only what this timeline has consumed is compared, so
        events still in flight are not mistaken for gaps. ``producers``: each producer's
        events of each case, counted again, against the tally the timeline kept as it applied
        them (deletions in step across stores). Names no case unless ``name_cases``.
        """
        expected: dict[tuple[str, int], dict[str, Any]] = {}
        held: Counts = {}
        positions = {source: self.position(source) for source in self.upstreams}
        total = sum(max(0, positions[s] - since.get(s, 0)) for s in self.upstreams)
        done = [0]

        def read_so_far(pages: int) -> None:
            done[0] += pages
            if progress is not None:
                progress(min(done[0], total), total)

        for message in self._produced(read, since, positions, read_so_far):
            source, case_id = message.source, message.payload.get("case_id")
            if case_id:
                count, _ = held.get((case_id, source), (0, 0))
                held[(case_id, source)] = (count + 1, message.notification_id)
            if case_id:
                expected[(source, message.notification_id)] = {
                    "case_id": case_id,
                    **self._entry_of(message),
                }
        stored: dict[tuple[str, int], dict[str, Any]] = {}
        unreadable: list[str] = []
        timelines = (
            self._readable(CaseTimeline.TimelineStarted, unreadable)
            if not since
            else self._timelines_of({case_id for case_id, _ in held}, unreadable)
        )
        for timeline in timelines:
            for recorded in timeline.recorded:
                key = (recorded["source"]["service"], recorded["source"]["notification_id"])
                if since.get(key[0], 0) < key[1] <= positions.get(key[0], 0):
                    stored[key] = {"case_id": timeline.case_id,
                                   **{k: recorded[k] for k in ENTRY_KEYS}}  # fmt: skip
        problems = []
        erased = {c for c in {e["case_id"] for e in stored.values()} if self.shredded(c)}
        for key in expected.keys() | stored.keys():
            want, have = expected.get(key), stored.get(key)
            if want and have and want["case_id"] in erased:
                # The producers' personal fields are gone: the summary is compared as stored.
                want = {**want, "summary": have["summary"]}
            if want != have:
                problem = "missing" if have is None else "unexpected" if want is None else "altered"
                entry = want or have
                problems.append((entry["at"], key, entry["event"], problem))
        report: dict[str, Any] = {"ok": not problems}
        if problems:
            at, (service, notification_id), event_name, problem = min(problems)
            report["first_broken"] = {
                "at": at,
                "service": service,
                "notification_id": notification_id,
                "event": event_name,
                "problem": problem,
            }
        report["producers"] = (
            self._verify_tallies(held, positions, name_cases, unreadable)
            if not since
            else self._verify_tally_increments(held, since, positions, name_cases, unreadable)
        )
        if unreadable:  # versions removed from the middle of a timeline or a tally
            report["_unreadable"] = len(unreadable)
        report["_new_entries"] = [
            {**entry, "notification_id": key[1]} for key, entry in stored.items()
        ]
        report["_positions"] = positions
        return report

    @staticmethod
    def _conclude(report: dict[str, Any]) -> dict[str, Any]:
        unreadable = report.pop("_unreadable", 0)
        if unreadable:
            report["timeline_store"] = {**report["timeline_store"], "ok": False,
                                        "unreadable_records": unreadable}  # fmt: skip
        checks = {"timeline": report["ok"]}
        checks.update({k: report[k]["ok"] for k in ("producers", "timeline_store")})
        report["failed"] = [name for name, ok in checks.items() if not ok]
        report["ok"] = not report["failed"]
        return report

    def _timelines_of(self, case_ids: set[str], unreadable: list[str]) -> Iterator[CaseTimeline]:
        for case_id in sorted(case_ids):
            try:
                timeline = load(self.repository, str(timeline_id(case_id)), CaseTimeline)
            except OriginatorVersionError:
                unreadable.append(str(timeline_id(case_id)))
                continue
            if timeline is not None:
                yield timeline

    def _verify_tally_increments(
        self,
        held: Counts,
        since: dict[str, int],
        positions: dict[str, int],
        name_cases: bool,
        unreadable: list[str],
    ) -> dict[str, Any]:
        """Like :meth:`_verify_tallies` for the increment: what each case's tally counted
        after ``since`` against the producers' events after it."""
        applied: Counts = {}
        for case_id in sorted({case_id for case_id, _ in held}):
            try:
                stored = self.recorder.select_events(tally_id(case_id))
            except OriginatorVersionError:  # pragma: no cover - select does not check
                unreadable.append(str(tally_id(case_id)))
                continue
            for record in stored:
                tallied = self.mapper.to_domain_event(record)
                producer = getattr(tallied, "producer", None)
                position = getattr(tallied, "position", 0)
                if producer and since.get(producer, 0) < position <= positions.get(producer, 0):
                    count, last = applied.get((case_id, producer), (0, 0))
                    applied[(case_id, producer)] = (count + 1, max(last, position))
        mismatches = compare(applied, held)
        report: dict[str, Any] = {
            "ok": not mismatches,
            "cases": len({case_id for case_id, _ in held}),
            "mismatches": len(mismatches),
            "untallied_cases": 0,
        }
        if mismatches:
            first = mismatches[0]
            if not name_cases:
                first.pop("case_id")
            report["first_mismatch"] = first
        return report

    def _verify_tallies(
        self, held: Counts, positions: dict[str, int], name_cases: bool, unreadable: list[str]
    ) -> dict[str, Any]:
        """Each producer's events of each case now (``held``, up to ``positions``) against the
        timeline's tally. A tally that went past those positions while the producers were
        read is of a case in flight: it is compared next time."""
        applied: Counts = {}
        tallied: set[str] = set()
        for tally in self._readable(CaseTally.TallyStarted, unreadable):
            tallied.add(tally.case_id)
            for producer, counted in tally.producers.items():
                if counted["last_position"] > positions.get(producer, 0):
                    held.pop((tally.case_id, producer), None)
                    continue
                applied[(tally.case_id, producer)] = (
                    counted["events"],
                    counted["last_position"],
                )
        # A case with no tally at all was recorded before tallies existed (a store from an
        # earlier version: `cp247 timeline rebuild` tallies it) or is not yet applied; its
        # tally cannot have been deleted unseen, since the timeline store is sealed.
        untallied = {case_id for case_id, _ in held if case_id not in tallied}
        held = {key: counts for key, counts in held.items() if key[0] in tallied}
        mismatches = compare(applied, held)
        report: dict[str, Any] = {
            "ok": not mismatches,
            "cases": len({case_id for case_id, _ in applied}),
            "mismatches": len(mismatches),
            "untallied_cases": len(untallied),
        }
        if mismatches:
            first = mismatches[0]
            if not name_cases:
                first.pop("case_id")
            report["first_mismatch"] = first
        return report

    def _readable(self, created_event: type, unreadable: list[str]) -> Iterator[Any]:
        """Like :meth:`created`, but an aggregate whose stored versions no longer follow on
        (some deleted behind the application's back) is noted in ``unreadable``, not raised."""
        topic, start = get_topic(created_event), 1
        while batch := self.recorder.select_notifications(start=start, limit=500, topics=[topic]):
            for notification in batch:
                try:
                    yield self.repository.get(notification.originator_id)
                except OriginatorVersionError:
                    unreadable.append(str(notification.originator_id))
            start = batch[-1].id + 1

    read_outbox: Reader | None = None  # set by the embedded platform; RPC in distributed mode

    @staticmethod
    def _entry_of(message: Message) -> dict[str, Any]:
        return {
            "at": message.recorded_at,
            "actor": message.payload.get("actor") or {"username": "system", "role": message.source},
            "service": message.source,
            "event": message.event,
            "summary": summarise(message.event, message.payload),
        }

    @query
    def statistics(self, year: int) -> dict[str, Any]:
        """The year's figures: the sum of its months. Each month is loaded again only when it
        changed, and the report is kept until one does: twelve indexed look-ups a question."""
        months = self._month_figures([f"{year:04d}-{month:02d}" for month in range(1, 13)])
        if not months:
            return self._yearly_record(year)
        versions = tuple((figures.year, figures.version) for figures in months)
        reports: dict[int, tuple[tuple[Any, ...], dict[str, Any]]] = self.__dict__.setdefault(
            "_reports", {}
        )
        kept = reports.get(year)
        if kept is None or kept[0] != versions:
            report = merged_report(months, f"{year:04d}-01", f"{year:04d}-12")
            report.pop("period")
            kept = reports[year] = (versions, report)
        return copy.deepcopy(kept[1])

    def _yearly_record(self, year: int) -> dict[str, Any]:
        """A store from before the monthly figures kept one record per year: answered from it
        until the timeline is rebuilt (docs/operations.md, "Rebuilding projections")."""
        figures = load(self.repository, str(figures_id(year)), YearFigures)
        return figures.report() if figures is not None else empty_report(year)

    @query
    def period_statistics(self, first: str, last: str) -> dict[str, Any]:
        """The figures of the months ``first`` to ``last`` (``YYYY-MM``, both included),
        summed: counts added, the durations' buckets merged before the medians."""
        return merged_report(self._month_figures(months_between(first, last)), first, last)

    def _month_figures(self, months: list[str]) -> list[MonthFigures]:
        """The figures of those of ``months`` that have any, each loaded from the store only
        when it has changed since this process last read it (read-only: never saved)."""
        kept: dict[str, MonthFigures] = self.__dict__.setdefault("_months", {})
        found = []
        for month in months:
            latest = self.recorder.select_events(month_id(month), desc=True, limit=1)
            if not latest:
                continue
            figures = kept.get(month)
            if figures is None or figures.version != latest[0].originator_version:
                figures = require(self.repository, str(month_id(month)), MonthFigures, "figures")
                kept[month] = figures
            found.append(figures)
        return found

    @query
    def case_timeline(self, case_id: str) -> dict[str, Any]:
        timeline = require(
            self.repository, str(timeline_id(case_id)), CaseTimeline, "timeline for case"
        )
        entries = timeline.entries()
        view: dict[str, Any] = {
            "case_id": case_id,
            "entries": entries,
            "head_hash": entries[-1]["hash"] if entries else GENESIS,
        }
        shredded = self.shredded(case_id)
        if shredded:
            view["personal_data_erased"] = {
                "at": shredded.destroyed_at,
                "because": shredded.because,
            }
        return view

    @query
    def participants(self, case_ids: list[str]) -> dict[str, list[str]]:
        """For each case known here, the usernames with an entry of theirs on its timeline:
        who had a part in it (the read figures ask, never showing the ids further)."""
        parts: dict[str, list[str]] = {}
        for case_id in case_ids:
            timeline = load(self.repository, str(timeline_id(case_id)), CaseTimeline)
            if timeline is not None:
                actors = {entry["actor"].get("username") for entry in timeline.recorded}
                parts[case_id] = sorted(name for name in actors if isinstance(name, str))
        return parts

    def case_activity(self) -> Iterator[tuple[str, str]]:
        """(case id, time of its last timeline entry) for every case: retention's clock."""
        for timeline in self.created(CaseTimeline.TimelineStarted):
            if timeline.recorded:
                yield timeline.case_id, max(r["at"] for r in timeline.recorded)


def _stale(job: Verification) -> bool:
    last = job.progressed_at or job.requested_at
    return (utcnow() - parse_iso(last)).total_seconds() > STALE_SECONDS


class _BatchProcessing(ProcessingEvent):
    """A processing event for the policy's aggregates only: the library's checks each object
    against runtime protocols (``isinstance`` on a Protocol), a third of a rebuild's time."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for aggregate in objs:
            if aggregate is not None:
                self.events.extend(aggregate.collect_events())
                self.aggregates[aggregate.id] = aggregate
        self.saved_kwargs.update(kwargs)


class _RebuildMemory:
    """The aggregates a rebuild is working on: those of the current batch (not yet recorded)
    and the most recently used recorded ones; a case's events come close together in time."""

    def __init__(self, app: TimelineApplication, keep: int = REBUILD_RECENT):
        self.app, self.keep = app, keep
        self.touched: dict[UUID, Aggregate] = {}
        self.recent: OrderedDict[UUID, Aggregate] = OrderedDict()
        self.created: set[UUID] = set()  # the store was empty: nothing else is in it

    def load(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        aggregate = self.touched.get(aggregate_id)
        if aggregate is None:
            aggregate = self.recent.get(aggregate_id)
            if aggregate is not None:
                self.recent.move_to_end(aggregate_id)
            elif aggregate_id in self.created:
                return load(self.app.repository, str(aggregate_id), kind)
        return aggregate if isinstance(aggregate, kind) else None

    def committed(self) -> None:
        """The batch is recorded: its aggregates join the recent ones, the oldest go."""
        self.created.update(self.touched)
        self.recent.update(self.touched)
        for aggregate_id in self.touched:
            self.recent.move_to_end(aggregate_id)
        self.touched = {}
        while len(self.recent) > self.keep:
            self.recent.popitem(last=False)
