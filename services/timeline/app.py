"""The timeline application: a read model over every service's events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from eventsourcing.application import ProcessingEvent

from cp247.casekeys import Shredded, case_keys_from_env
from cp247.errors import Conflict
from cp247.runtime.application import ServiceApplication, load, require
from events import Message, registry
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

SOURCES = ("intake", "preservation", "isp_liaison", "mla", "notification")
ENTRY_KEYS = ("at", "actor", "service", "event", "summary")
Reader = Callable[[str, int, int], list[dict[str, Any]]]


class TimelineApplication(ServiceApplication):
    name = "timeline"
    upstreams = SOURCES
    publishes = False  # a read model: its entries are served by query, not published
    snapshotting_intervals = {CaseTimeline: 50, YearFigures: 200}

    def apply_policy(self, message: Message, processing: ProcessingEvent) -> None:
        """Every event about a case becomes the next entry of that case's timeline."""
        case_id = message.payload.get("case_id")
        if case_id and message.event not in NOT_ON_TIMELINE:
            timeline = load(self.repository, str(timeline_id(case_id)), CaseTimeline)
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
                figures[number] = load(
                    self.repository, str(figures_id(number)), YearFigures
                ) or YearFigures(year=number)
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
    def audit_verify(self, read: Reader | None = None) -> dict[str, Any]:
        """Recompute every timeline entry from the producers' own stores and compare.

        An entry that is missing here, altered, or has no source event is the first broken
        entry (in recorded-time order). Only what this timeline has consumed is compared, so
        events still in flight are not mistaken for gaps. Names no case: oversight may call it.
        """
        read = read or self.read_outbox
        if read is None:
            raise Conflict("no access to the producers' stores from here")
        expected: dict[tuple[str, int], dict[str, Any]] = {}
        for source in self.upstreams:
            position, start = self.position(source), 1
            while start <= position:
                batch = read(source, start, min(500, position - start + 1))
                if not batch:
                    break
                for body in batch:
                    message = registry.decode(body)
                    case_id = message.payload.get("case_id")
                    if case_id and message.event not in NOT_ON_TIMELINE:
                        expected[(source, message.notification_id)] = {
                            "case_id": case_id,
                            **self._entry_of(message),
                        }
                start = batch[-1]["notification_id"] + 1
        stored: dict[tuple[str, int], dict[str, Any]] = {}
        for timeline in self.created(CaseTimeline.TimelineStarted):
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
        return report

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
        figures = load(self.repository, str(figures_id(year)), YearFigures)
        return figures.report() if figures else empty_report(year)

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
