"""The preservation order's rules, without any broker or database server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cp247.config import ConfigurationError
from cp247.errors import Conflict
from services.preservation.domain import LEGAL_BASIS, PreservationOrder, order_id_for
from services.preservation.national_law import national_policy

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
POLICE = {"username": "poe", "role": "police"}
PROSECUTOR = {"username": "pat", "role": "prosecution"}


def draft(period_days: int = 90) -> PreservationOrder:
    return PreservationOrder(
        order_id=order_id_for("request-1", "telco-a"),
        case_id="case-1",
        request_id="request-1",
        provider_id="telco-a",
        identifiers=[],
        data_types=["traffic"],
        period_days=period_days,
        legal_basis=LEGAL_BASIS,
        direction="incoming",
        mla_intended=True,
        actor=POLICE,
    )


def test_issued_order_runs_for_its_period():
    order = draft(90)
    order.issue(PROSECUTOR, NOW)
    assert order.status == "issued"
    assert order.expires_at == "2027-02-26T03:00:00.000000Z"


def test_national_policy_never_goes_below_sixty_days_art29_7_nor_above_its_maximum_art16_2():
    policy = national_policy("police-needs-approval")
    assert policy.period(30) == 60
    assert policy.period(None) == 90
    assert policy.period(120) == 90  # longer only by extension


def test_art29_7_an_officer_order_below_sixty_days_is_refused_with_the_reason():
    policy = national_policy("police-needs-approval")
    assert "Art 29(7)" in policy.period_problem(30)
    assert policy.period_problem(60) is None and policy.period_problem(None) is None


def test_art16_2_an_order_above_the_policy_maximum_is_refused():
    policy = national_policy("police-needs-approval")
    assert "Art 16(2)" in policy.period_problem(91)
    assert policy.period_problem(90) is None


def test_police_needs_approval_in_a_romania_like_country_but_not_in_a_norway_like_one():
    assert national_policy("police-needs-approval").needs_approval("police")
    assert not national_policy("police-needs-approval").needs_approval("prosecution")
    assert not national_policy("cp-orders-directly").needs_approval("police")


def test_unknown_policy_profile_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="cp-orders-directly"):
        national_policy("wild-west")


def test_approval_issues_the_order_once():
    order = draft()
    order.request_approval("police order", POLICE)
    assert order.status == "awaiting_approval"
    order.approve(PROSECUTOR, NOW + timedelta(hours=1))
    assert order.status == "issued" and order.approved_by == PROSECUTOR
    with pytest.raises(Conflict):
        order.approve(PROSECUTOR, NOW)
    with pytest.raises(Conflict):
        order.issue(PROSECUTOR, NOW)
    events = [type(e).__name__ for e in order.collect_events()]
    assert events == ["OrderDrafted", "OrderApprovalRequested", "OrderApproved", "OrderIssued"]


def test_provider_acknowledgement_is_recorded_once():
    order = draft()
    order.issue(PROSECUTOR, NOW)
    isp = {"username": "telco-a", "role": "isp"}
    assert order.record_acknowledgement("2026-11-28T04:00:00Z", isp)
    assert not order.record_acknowledgement("2026-11-28T05:00:00Z", isp)
    assert order.status == "acknowledged"
    assert order.acknowledged_at == "2026-11-28T04:00:00Z"


def test_order_for_a_request_and_provider_has_one_id():
    assert order_id_for("r", "telco-a") == order_id_for("r", "telco-a")
    assert order_id_for("r", "telco-a") != order_id_for("r", "telco-b")
