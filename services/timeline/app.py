"""The timeline application: a read model over every service's events."""

from __future__ import annotations

import copy
import heapq
import multiprocessing
import os
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate, OriginatorVersionError
from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.sqlite import SQLiteProcessRecorder
from eventsourcing.utils import get_topic

from cp247.casekeys import Shredded, case_keys_from_env
from cp247.errors import Conflict
from cp247.runtime.application import ServiceApplication, load, require
from cp247.runtime.ledger import SealedStore
from events import Message, registry
from services.timeline.decoding import decode_page
from services.timeline.domain import (
    GENESIS,
    NOT_ON_TIMELINE,
    CaseTimeline,
    entry_hash,
    summarise,
    timeline_id,
)
from services.timeline.statistics import (
    DURATIONS,
    YearFigures,
    empty_report,
    family,
    figures_id,
    milestones_of,
    seconds_between,
    year_of,
)
from services.timeline.tally import CaseTally, Counts, compare, tally_id

SOURCES = ("intake", "preservation", "isp_liaison", "mla", "notification")
ENTRY_KEYS = ("at", "actor", "service", "event", "summary")
Reader = Callable[[str, int, int], list[dict[str, Any]]]
A = TypeVar("A", bound=Aggregate)

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
    snapshotting_intervals = {CaseTimeline: 50, YearFigures: 20, CaseTally: 50}
    sealed_in_batches = None  # sealed by periodic jobs, off the consumer's path (ledger.py)

    def apply_policy(self, message: Message, processing: ProcessingEvent) -> None:
        """Every event about a case becomes the next entry of that case's timeline, and is
        counted in the case's tally of its producer."""
        case_id = message.payload.get("case_id")
        if case_id:
            tally = self._load(tally_id(case_id), CaseTally) or CaseTally(case_id=case_id)
            tally.tally(message.source, message.notification_id)
            processing.collect_events(tally)
        if case_id and message.event not in NOT_ON_TIMELINE:
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
            return load(self.repository, str(aggregate_id), kind)
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
            *(self._outbox_messages(read, source, pool) for source in self.upstreams),
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
    def _outbox_messages(read: Reader, source: str, pool: Executor | None) -> Iterator[Message]:
        """One upstream's outbox in order, decoded (by ``pool`` when given, pages ahead)."""
        start, pending = 1, deque[Future[list[Message]]]()
        while True:
            while len(pending) < (REBUILD_PREFETCH if pool else 1):
                bodies = read(source, start, REBUILD_PAGE)
                if not bodies:
                    break
                start = bodies[-1]["notification_id"] + 1
                if pool is None:
                    done: Future[list[Message]] = Future()
                    done.set_result(decode_page(bodies))
                    pending.append(done)
                else:
                    pending.append(pool.submit(decode_page, bodies))
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
        if isinstance(recorder, SQLiteProcessRecorder) and (
            snapshot_recorder is None
            or getattr(snapshot_recorder, "datastore", None) is recorder.datastore
        ):
            with recorder.datastore.transaction(commit=True) as cursor:
                recorder._insert_events(cursor, stored)
                if snapshots and snapshot_recorder is not None:
                    snapshot_recorder._insert_events(cursor, snapshots)  # type: ignore[attr-defined]
                for tracking in positions:
                    recorder._insert_tracking(cursor, tracking)
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
        """Update the year figures with what this event completes (in whatever order the
        services' events arrive: a duration is measured when its second end is known)."""
        figures: dict[int, YearFigures] = {}

        def year(at: str) -> YearFigures:
            number = year_of(at)
            if number not in figures:
                figures[number] = self._load(figures_id(number), YearFigures) or YearFigures(
                    year=number
                )
            return figures[number]

        payload, marks = message.payload, {**known, **new}
        if message.event == "RequestReceived":
            year(message.recorded_at).count_request(
                payload["direction"], family(payload["type"]), payload["counterpart_country"]
            )
        for kind, (start, end) in DURATIONS.items():
            refs = {key.partition(":")[2] for key in new if key.partition(":")[0] in (start, end)}
            for ref in refs:
                begin, finish = f"{start}:{ref}", f"{end}:{ref}"
                if begin in marks and finish in marks and not (begin in known and finish in known):
                    year(marks[begin]).measure(kind, seconds_between(marks[begin], marks[finish]))
        for key, at in new.items():
            name, _, order_id = key.partition(":")
            if name == "issued":
                year(at).count_order("issued")
            elif name == "mla" and key not in known:
                issued, expires = marks.get(f"issued:{order_id}"), marks.get(f"expires:{order_id}")
                if issued and expires and at <= expires:
                    year(issued).count_order("followed_by_mla_in_time")
        if message.event == "OrderExpired" and f"mla:{payload['order_id']}" not in marks:
            issued = marks.get(f"issued:{payload['order_id']}")
            if issued:
                year(issued).count_order("expired_without_mla")
        processing.collect_events(*figures.values())

    # --- audit -------------------------------------------------------------------------------
    def audit_verify(self, read: Reader | None = None, name_cases: bool = False) -> dict[str, Any]:
        """Recompute every timeline entry from the producers' own stores and compare.

        An entry that is missing here, altered, or has no source event is the first broken
        entry (in recorded-time order). Only what this timeline has consumed is compared, so
        events still in flight are not mistaken for gaps. ``producers``: each producer's
        events of each case, counted again, against the tally the timeline kept as it applied
        them (deletions in step across stores); ``timeline_store``: this store's sealed ledger.
        Names no case unless ``name_cases`` (oversight may call it; an admin may not need to).
        """
        read = read or self.read_outbox
        if read is None:
            raise Conflict("no access to the producers' stores from here")
        expected: dict[tuple[str, int], dict[str, Any]] = {}
        held: Counts = {}
        positions: dict[str, int] = {}
        for source in self.upstreams:
            position, start = self.position(source), 1
            positions[source] = position
            while start <= position:
                batch = read(source, start, min(500, position - start + 1))
                if not batch:
                    break
                for body in batch:
                    message = registry.decode(body)
                    case_id = message.payload.get("case_id")
                    if case_id:
                        count, _ = held.get((case_id, source), (0, 0))
                        held[(case_id, source)] = (count + 1, message.notification_id)
                    if case_id and message.event not in NOT_ON_TIMELINE:
                        expected[(source, message.notification_id)] = {
                            "case_id": case_id,
                            **self._entry_of(message),
                        }
                start = batch[-1]["notification_id"] + 1
        stored: dict[tuple[str, int], dict[str, Any]] = {}
        unreadable: list[str] = []
        for timeline in self._readable(CaseTimeline.TimelineStarted, unreadable):
            for recorded in timeline.recorded:
                key = (recorded["source"]["service"], recorded["source"]["notification_id"])
                stored[key] = {"case_id": timeline.case_id, **{k: recorded[k] for k in ENTRY_KEYS}}
        problems = []
        erased = {c for c in {e["case_id"] for e in stored.values()} if self._shredded(c)}
        for key in expected.keys() | stored.keys():
            want, have = expected.get(key), stored.get(key)
            if want and have and want["case_id"] in erased:
                # The producers' personal fields are gone: the summary is compared as stored.
                want = {**want, "summary": have["summary"]}
            if want != have:
                problem = "missing" if have is None else "unexpected" if want is None else "altered"
                entry = want or have
                problems.append((entry["at"], key, entry["event"], problem))
        entries = sorted(stored.values(), key=lambda e: (e["at"], e["service"], e["event"]))
        head = GENESIS
        for entry in entries:
            head = entry_hash(head, {k: entry[k] for k in ENTRY_KEYS})
        report: dict[str, Any] = {"ok": not problems, "entries": len(entries), "head_hash": head}
        if problems:
            at, (service, notification_id), event_name, problem = min(problems)
            report["first_broken"] = {
                "at": at,
                "service": service,
                "notification_id": notification_id,
                "event": event_name,
                "problem": problem,
            }
        report["producers"] = self._verify_tallies(held, positions, name_cases, unreadable)
        report["timeline_store"] = self.ledger.check()
        if unreadable:  # versions removed from the middle of a timeline or a tally
            report["timeline_store"] = {**report["timeline_store"], "ok": False}
            report["timeline_store"]["unreadable_records"] = len(unreadable)
        checks = {"timeline": report["ok"]}
        checks.update({k: report[k]["ok"] for k in ("producers", "timeline_store")})
        report["failed"] = [name for name, ok in checks.items() if not ok]
        report["ok"] = not report["failed"]
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

    def statistics(self, year: int) -> dict[str, Any]:
        """The year's figures; the report is kept per version of the year's aggregate, so a
        repeated question costs one indexed look-up, however many cases the year has."""
        latest = self.recorder.select_events(figures_id(year), desc=True, limit=1)
        if not latest:
            return empty_report(year)
        reports: dict[int, tuple[int, dict[str, Any]]] = self.__dict__.setdefault("_reports", {})
        kept = reports.get(year)
        if kept is None or kept[0] != latest[0].originator_version:
            figures = require(self.repository, str(figures_id(year)), YearFigures, "figures")
            kept = reports[year] = (figures.version, figures.report())
        return copy.deepcopy(kept[1])

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
        shredded = self._shredded(case_id)
        if shredded:
            view["personal_data_erased"] = {
                "at": shredded.destroyed_at,
                "because": shredded.because,
            }
        return view

    def case_activity(self) -> Iterator[tuple[str, str]]:
        """(case id, time of its last timeline entry) for every case: retention's clock."""
        for timeline in self.created(CaseTimeline.TimelineStarted):
            if timeline.recorded:
                yield timeline.case_id, max(r["at"] for r in timeline.recorded)

    def _shredded(self, case_id: str) -> Shredded | None:
        vault = case_keys_from_env(self.env)
        return vault.shredded(case_id) if vault else None


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
