"""The timeline application: a read model over every service's events."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import ProcessingEvent

from cp247.runtime.application import ServiceApplication, load, require
from events import Message
from services.timeline.domain import GENESIS, NOT_ON_TIMELINE, CaseTimeline, summarise, timeline_id

SOURCES = ("intake", "preservation", "isp_liaison", "mla", "notification")


class TimelineApplication(ServiceApplication):
    name = "timeline"
    upstreams = SOURCES
    publishes = False  # a read model: its entries are served by query, not published
    snapshotting_intervals = {CaseTimeline: 50}

    def apply_policy(self, message: Message, processing: ProcessingEvent) -> None:
        """Every event about a case becomes the next entry of that case's timeline."""
        case_id = message.payload.get("case_id")
        if case_id and message.event not in NOT_ON_TIMELINE:
            timeline = load(self.repository, str(timeline_id(case_id)), CaseTimeline)
            if timeline is None:
                timeline = CaseTimeline(case_id=case_id)
            timeline.record(
                at=message.recorded_at,
                actor=message.payload.get("actor")
                or {"username": "system", "role": message.source},
                service=message.source,
                event_name=message.event,
                summary=summarise(message.event, message.payload),
                source={"service": message.source, "notification_id": message.notification_id},
            )
            processing.collect_events(timeline)

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
