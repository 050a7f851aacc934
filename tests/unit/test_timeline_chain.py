"""One timeline per case, hash-chained in recorded-time order however events arrive."""

from __future__ import annotations

from services.timeline.domain import GENESIS, CaseTimeline, entry_hash

SYSTEM = {"username": "system", "role": "mla"}


def add(timeline: CaseTimeline, at: str, service: str, notification_id: int) -> None:
    timeline.record(
        at=at,
        actor=SYSTEM,
        service=service,
        event_name=f"E{notification_id}",
        summary="",
        source={"service": service, "notification_id": notification_id},
        milestones={},
    )


def test_entries_chain_oldest_first_whatever_the_arrival_order():
    early, late = CaseTimeline(case_id="c"), CaseTimeline(case_id="c")
    stamps = [
        ("2026-11-28T10:00:00.000001Z", "intake", 1),
        ("2026-11-28T10:00:00.000002Z", "preservation", 1),
        ("2026-11-28T10:00:00.000003Z", "mla", 1),
    ]
    for stamp in stamps:
        add(early, *stamp)
    for stamp in reversed(stamps):
        add(late, *stamp)
    entries = early.entries()
    assert entries == late.entries()
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[0]["prev_hash"] == GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after["prev_hash"] == before["hash"]


def test_changing_an_entry_changes_every_later_hash():
    timeline = CaseTimeline(case_id="c")
    add(timeline, "2026-11-28T10:00:00.000001Z", "intake", 1)
    add(timeline, "2026-11-28T10:00:00.000002Z", "intake", 2)
    original = timeline.entries()
    timeline.recorded[0]["summary"] = "tampered"
    tampered = timeline.entries()
    assert tampered[0]["hash"] != original[0]["hash"]
    assert tampered[1]["hash"] != original[1]["hash"]


def test_hash_is_sha256_over_previous_hash_and_canonical_entry():
    entry = {"b": 1, "a": "ä"}
    assert entry_hash(GENESIS, entry) == entry_hash(GENESIS, {"a": "ä", "b": 1})
    assert len(entry_hash(GENESIS, entry)) == 64
