"""A year's figures are the sum of its twelve monthly records (one event per count); a store
from before the monthly records answers from its yearly one until the timeline is rebuilt."""

from __future__ import annotations

from services.timeline.app import TimelineApplication
from services.timeline.statistics import MonthFigures, YearFigures


def test_a_year_is_the_sum_of_its_months_and_a_legacy_year_record_still_answers() -> None:
    timeline = TimelineApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    legacy = YearFigures(year=2020)
    legacy.count_request("incoming", "preservation", "US")
    timeline.save(legacy)
    assert timeline.statistics(2020)["requests"]["received"]["preservation"] == 1
    assert timeline.statistics(2019)["requests"]["received"]["total"] == 0

    january, march = MonthFigures(year="2026-01"), MonthFigures(year="2026-03")
    january.count_request("incoming", "preservation", "US")
    january.measure("receipt_to_acknowledgement", 10.0)
    march.count_request("incoming", "mla", "DE")
    march.measure("receipt_to_acknowledgement", 30.0)
    march.count("decisions", "refused")
    timeline.save(january, march)
    year = timeline.statistics(2026)
    assert year["year"] == 2026 and "period" not in year
    assert year["requests"]["received"] == {"preservation": 1, "mla": 1, "other": 0, "total": 2}
    assert year["by_country"]["received"] == {"DE": 1, "US": 1}
    assert year["median_seconds"]["receipt_to_acknowledgement"] == 20.0
    assert year["decisions"]["refused"] == 1
    march.count("decisions", "refused")  # a later count is seen: the report follows versions
    timeline.save(march)
    assert timeline.statistics(2026)["decisions"]["refused"] == 2
    assert timeline.period_statistics("2026-03", "2026-03")["requests"]["received"]["total"] == 1
