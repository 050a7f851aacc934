"""The timeline is a projection: rebuilt from scratch out of the services' event stores, in
another arrival order, it has the same entries and the same hashes."""

from __future__ import annotations

from slice_driver import run_slice, wait_for

from events import registry
from services.timeline.app import TimelineApplication


def test_rebuilding_the_timeline_from_the_event_stores_gives_identical_hashes(embedded, tokens):
    api, _, platform = embedded
    result = run_slice(api, tokens, "REBUILD-1")
    case_path = f"/api/v1/cases/{result['case_id']}/timeline"
    timeline = platform.apps["timeline"]

    def settled() -> tuple[dict, dict] | None:
        """The live timeline and the positions it was built from, when nothing moved between."""
        platform.deliver()
        positions = {source: timeline.position(source) for source in timeline.upstreams}
        status, live = api.call("GET", case_path, tokens["police"])
        assert status == 200
        after = {source: timeline.position(source) for source in timeline.upstreams}
        return (live, positions) if positions == after else None

    live, positions = wait_for(settled, what="a settled timeline")
    assert len(live["entries"]) >= 9

    rebuilt = TimelineApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    # The opposite order to the live run: the last service's events first.
    for source in reversed(rebuilt.upstreams):
        producer = platform.apps[source]
        for body in producer.outbox(1, 10_000):
            message = registry.decode(body)
            if message.notification_id <= positions[source]:
                rebuilt.process(message)
    again = rebuilt.case_timeline(result["case_id"])
    assert again["entries"] == live["entries"]
    assert again["head_hash"] == live["head_hash"]
