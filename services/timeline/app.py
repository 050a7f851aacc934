"""The timeline application: a read model over every service's events."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import ProcessingEvent

from cp247.runtime.application import ServiceApplication, load, require
from events import Message
from services.timeline.domain import GENESIS, NOT_ON_TIMELINE, CaseTimeline, summarise, timeline_id
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
            timeline.record(
                at=message.recorded_at,
                actor=message.payload.get("actor")
                or {"username": "system", "role": message.source},
                service=message.source,
                event_name=message.event,
                summary=summarise(message.event, message.payload),
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

    def statistics(self, year: int) -> dict[str, Any]:
        figures = load(self.repository, str(figures_id(year)), YearFigures)
        return figures.report() if figures else empty_report(year)

    def case_timeline(self, case_id: str) -> dict[str, Any]:
        timeline = require(
            self.repository, str(timeline_id(case_id)), CaseTimeline, "timeline for case"
        )
        entries = timeline.entries()
        return {
            "case_id": case_id,
            "entries": entries,
            "head_hash": entries[-1]["hash"] if entries else GENESIS,
        }
