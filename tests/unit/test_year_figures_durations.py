"""Year figures keep durations as counts per value to three significant figures: bounded in
size, and the median of what was measured to within 0.5 %."""

from __future__ import annotations

import statistics

from eventsourcing.domain import Aggregate

from services.timeline.statistics import YearFigures, duration_key, median_of


def test_median_of_bucketed_durations_is_the_median_of_the_rounded_values():
    values = [1.0, 2.0, 3.0, 4.0, 10.0, 3600.0]
    counts: dict[str, int] = {}
    for seconds in values:
        counts[duration_key(seconds)] = counts.get(duration_key(seconds), 0) + 1
    assert median_of(counts) == statistics.median(values) == 3.5
    assert median_of({duration_key(12345.678): 1}) == 12300.0
    assert median_of({}) is None


def test_a_year_with_many_durations_stays_small_and_reports_their_median():
    figures = YearFigures(year=2026)
    for n in range(5000):
        figures.measure("receipt_to_acknowledgement", 60.0 + n % 100)
    assert len(figures.durations["receipt_to_acknowledgement"]) == 100
    assert figures.report()["median_seconds"]["receipt_to_acknowledgement"] == 109.5


def test_a_snapshot_that_listed_every_duration_is_read_as_buckets():
    figures = YearFigures(year=2026)
    snapshot = Aggregate.Snapshot.take(figures)
    state = dict(snapshot.state)
    state.pop("class_version")
    state["durations"] = {"receipt_to_acknowledgement": [1.0, 2.0, 2.0]}  # a v1 snapshot
    old = Aggregate.Snapshot(
        originator_id=snapshot.originator_id,
        originator_version=snapshot.originator_version,
        timestamp=snapshot.timestamp,
        topic=snapshot.topic,
        state=state,
    )
    restored = old.mutate(None)
    assert restored.durations["receipt_to_acknowledgement"] == {"1": 1, "2": 2}
    assert restored.report()["median_seconds"]["receipt_to_acknowledgement"] == 2.0
