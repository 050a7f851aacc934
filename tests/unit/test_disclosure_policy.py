"""Disclosure and emergencies as national policy and domain rules: who may order disclosure
without a prosecutor, content only where the law allows it, the emergency settings checked,
and the emergency clock (P2 Art 9) stopped by the first decision, escalated once a period."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cp247.clock import parse_iso
from cp247.config import ConfigurationError
from services.preservation.emergency import MAX_ESCALATIONS, EmergencyClock
from services.preservation.national_law import PROFILES, national_policy, parse_policy

REQUEST = {"request_id": "0b7a4c7e-0000-4000-8000-000000000001", "case_id": "c-1",
           "type": "emergency_disclosure", "counterpart_country": "DE",
           "received_at": "2026-12-08T01:00:00Z"}  # fmt: skip


def test_art18_who_may_order_disclosure_directly_follows_the_policy() -> None:
    waits = national_policy("police-needs-approval")
    assert waits.disclosure_needs_approval("police")
    assert not waits.disclosure_needs_approval("prosecution")
    assert not national_policy("cp-orders-directly").disclosure_needs_approval("police")
    stricter = parse_policy(
        {**PROFILES["cp-orders-directly"], "disclosure_may_order_directly": ["prosecution"]}, "t"
    )
    assert stricter.disclosure_needs_approval("police")  # disclosure apart from preservation
    assert not stricter.needs_approval("police")


def test_art18_content_is_ordered_disclosed_only_where_the_policy_says_so() -> None:
    assert national_policy("police-needs-approval").disclosure_of_content is False
    allowed = parse_policy(
        {**PROFILES["police-needs-approval"], "disclosure_of_content": True}, "t"
    )
    assert allowed.disclosure_of_content is True
    with pytest.raises(ConfigurationError, match="disclosure_of_content"):
        parse_policy({**PROFILES["police-needs-approval"], "disclosure_of_content": "yes"}, "t")


def test_p2_art9_emergency_settings_are_minutes_and_hours_and_checked() -> None:
    policy = national_policy("police-needs-approval")
    assert policy.emergency_decision_minutes == 60 and policy.emergency_due_hours == 4
    now = parse_iso("2026-12-08T01:00:00Z")
    assert policy.emergency_due_by(now) - now == timedelta(hours=4)
    bad = {**PROFILES["police-needs-approval"], "emergency_decision_minutes": 0,
           "emergency_due_hours": 240, "emergency_reminder_hours": ["1"]}  # fmt: skip
    with pytest.raises(ConfigurationError) as raised:
        parse_policy(bad, "t")
    for setting in (
        "emergency_decision_minutes",
        "emergency_due_hours",
        "emergency_reminder_hours",
    ):
        assert setting in str(raised.value)


def test_p2_art9_the_clock_runs_from_receipt_escalates_once_a_period_and_stops_once() -> None:
    clock = EmergencyClock.start(REQUEST, minutes=30)
    decide_by = parse_iso(clock.decide_by)
    assert decide_by - parse_iso(REQUEST["received_at"]) == timedelta(minutes=30)
    assert not clock.overdue(decide_by - timedelta(seconds=1), 30)
    assert clock.overdue(decide_by, 30) and clock.escalations == 1
    assert not clock.overdue(decide_by + timedelta(minutes=29), 30)  # once a period
    assert clock.overdue(decide_by + timedelta(minutes=30), 30) and clock.escalations == 2
    for level in range(3, MAX_ESCALATIONS + 1):
        assert clock.overdue(decide_by + timedelta(minutes=30 * level), 30)
    assert not clock.overdue(decide_by + timedelta(days=1), 30)  # nobody left to wake
    assert clock.decide("order issued", "2026-12-08T03:30:00Z")
    assert clock.decision == {"how": "order issued", "at": "2026-12-08T03:30:00Z"}
    assert not clock.decide("request refused", "2026-12-08T04:00:00Z")  # the first one counts


def test_an_order_cites_the_national_provision_after_the_convention() -> None:
    from pathlib import Path

    policy = national_policy(str(Path(__file__).parents[2] / "infra/policy/romania-like.yaml"))
    assert policy.legal_basis("preservation", "Budapest Convention Art 29").startswith(
        "Budapest Convention Art 29; national law: Code of Criminal Procedure art. 154"
    )
    assert national_policy("cp-orders-directly").legal_basis("disclosure", "Art 18") == "Art 18"
    with pytest.raises(ConfigurationError, match="national_provisions"):
        parse_policy({**PROFILES["cp-orders-directly"], "national_provisions": {"mla": "x"}}, "t")
