"""A disclosure order's due-by clock (domain logic, issue 20): reminders as it nears, once
each and only those shorter than the time the provider was given, and overdue once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cp247.clock import iso
from services.preservation.disclosure_order import DisclosureOrder

ISSUED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOURS = (48, 4)


def issued(days: float) -> DisclosureOrder:
    order = DisclosureOrder(
        order_id="6f1c2b9a-0000-4000-8000-000000000001",
        case_id="case-1",
        request_id="req-1",
        provider_id="telco-a",
        identifiers=[],
        data_types=["subscriber"],
        legal_basis="Art 18",
        due_by=iso(ISSUED + timedelta(days=days)),
        actor={"username": "pat", "role": "prosecution"},
    )
    order.issue({"username": "pat", "role": "prosecution"}, ISSUED)
    return order


def clock_names(order: DisclosureOrder, at: datetime) -> list[str]:
    before = len(order.pending_events)
    order.clocks_due(at, HOURS)
    return [type(e).__name__ for e in order.pending_events[before:]]


def test_an_unanswered_order_is_reminded_at_each_offset_once_then_overdue_once():
    order = issued(days=20)
    due = ISSUED + timedelta(days=20)
    assert clock_names(order, due - timedelta(hours=49)) == []
    assert clock_names(order, due - timedelta(hours=47)) == ["DisclosureReminderDue"]
    assert clock_names(order, due - timedelta(hours=46)) == []
    assert clock_names(order, due - timedelta(hours=3)) == ["DisclosureReminderDue"]
    assert order.reminded_at == 4
    assert clock_names(order, due - timedelta(hours=1)) == []
    assert clock_names(order, due) == ["DisclosureOverdue"]
    assert clock_names(order, due + timedelta(days=1)) == []
    assert order.status == "issued" and order.overdue  # still owed, and seen as late


def test_an_order_of_eight_hours_gets_only_the_reminders_shorter_than_that():
    order = issued(days=1 / 3)
    due = ISSUED + timedelta(hours=8)
    assert clock_names(order, ISSUED + timedelta(minutes=1)) == []  # 48 h is not "near"
    assert clock_names(order, due - timedelta(hours=3)) == ["DisclosureReminderDue"]
    assert order.reminded_at == 4


def test_offsets_passed_together_remind_once_with_the_nearest():
    order = issued(days=20)
    due = ISSUED + timedelta(days=20)
    assert clock_names(order, due - timedelta(hours=2)) == ["DisclosureReminderDue"]
    assert order.reminded_at == 4
    assert clock_names(order, due - timedelta(hours=1)) == []


def test_an_answered_or_withdrawn_order_keeps_no_clock():
    due = ISSUED + timedelta(days=20)
    unavailable = issued(days=20)
    unavailable.record_unavailable("logs kept 7 days")
    withdrawn = issued(days=20)
    withdrawn.withdraw("request refused", "Do not disclose.", {"username": "pat"})
    for order in (unavailable, withdrawn):
        assert clock_names(order, due - timedelta(hours=3)) == []
        assert clock_names(order, due + timedelta(hours=1)) == []
