"""``TimelineApplication.rebuild``: a fresh timeline store, replayed in batches from every
service's outbox, holds the same timelines, figures and positions as live consumption."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from slice_driver import issued_order, run_slice, wait_for

from cp247.bootstrap import make_application
from cp247.config import Settings
from cp247.errors import Conflict
from events import registry
from services.timeline.app import RebuildProgress

YEAR = datetime.now().year


def test_rebuilt_timeline_matches_live_consumption_and_resumes_after_it(
    embedded, tokens, tmp_path: Path
):
    api, _, platform = embedded
    cases = [run_slice(api, tokens, f"RB-{n}")["case_id"] for n in range(2)]
    order = issued_order(api, tokens, "RB-MLA")
    status, _ = api.call("POST", f"/api/v1/cases/{order['case_id']}/mla", tokens["prosecution"],
                         {"direction": "incoming", "stage": "pre_trial"})  # fmt: skip
    assert status == 201
    cases.append(order["case_id"])
    live = platform.apps["timeline"]

    def settled() -> dict | None:
        """Everything delivered, and nothing moved while the live views were read."""
        platform.deliver()
        positions = {source: live.position(source) for source in live.upstreams}
        heads = {source: platform.apps[source].outbox_head() for source in live.upstreams}
        views = {
            "timelines": {case: live.case_timeline(case) for case in cases},
            "statistics": live.statistics(YEAR),
            "positions": positions,
        }
        return views if positions == heads == {s: live.position(s) for s in positions} else None

    expected = wait_for(settled, what="every event delivered")
    assert any(entry["event"] == "MlaRecorded"
               for entry in expected["timelines"][order["case_id"]]["entries"])  # fmt: skip

    # A fresh store elsewhere, fed from the same producers' stores (small batches: many
    # transactions, aggregates carried across them).
    fresh = make_application("timeline", Settings.from_env(str(tmp_path / "fresh")))
    steps: list[RebuildProgress] = []
    frozen = expected["positions"]

    def read(source: str, start: int, limit: int) -> list[dict]:
        """The outboxes as they were when the live views were read."""
        if start > frozen[source]:
            return []
        return platform.read_outbox(source, start, min(limit, frozen[source] - start + 1))

    done = fresh.rebuild(read, total=sum(frozen.values()), progress=steps.append, batch_size=7)
    assert done.events == sum(frozen.values()) == steps[-1].events
    assert [step.events for step in steps] == sorted(step.events for step in steps)
    assert {source: fresh.position(source) for source in frozen} == frozen
    for case in cases:
        rebuilt = fresh.case_timeline(case)
        assert rebuilt["entries"] == expected["timelines"][case]["entries"]
        assert rebuilt["head_hash"] == expected["timelines"][case]["head_hash"]
    assert fresh.statistics(YEAR) == expected["statistics"]
    assert fresh.statistics(YEAR)["preservations"]["issued"] == 3

    # Rebuilding again into what is now a full store would count everything twice.
    with pytest.raises(Conflict, match="not empty"):
        fresh.rebuild(read)

    # Live consumption resumes on the rebuilt store with the next event; none is applied twice.
    for source in fresh.upstreams:
        for body in platform.read_outbox(source, 1, frozen[source]):
            assert not fresh.process(registry.decode(body)), body
    run_slice(api, tokens, "RB-after")

    def resumed() -> bool:
        platform.deliver()
        for source in fresh.upstreams:
            for body in platform.read_outbox(source, fresh.position(source) + 1, 10_000):
                assert fresh.process(registry.decode(body)), body
        same = {s: fresh.position(s) for s in fresh.upstreams} == {
            s: live.position(s) for s in live.upstreams
        }
        return same and fresh.statistics(YEAR) == live.statistics(YEAR)

    wait_for(resumed, what="the rebuilt store to follow the live one")
    for case in cases:
        assert fresh.case_timeline(case) == live.case_timeline(case)
