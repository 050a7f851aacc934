"""The lifecycle's legal rules in the domain, without broker or database: refusal grounds by
type (Art 29(4)/(5), Art 30(2)), the Art 29(7) release hold, several Parties on one order,
Art 29(6) states, outgoing clocks and office hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cp247.clock import iso
from cp247.config import ConfigurationError
from cp247.errors import Conflict, Invalid
from services.intake.domain import ART29_5_GROUNDS, allowed_refusal_grounds
from services.intake.office_hours import next_open
from services.mla.domain import OutgoingFollowUp
from services.preservation.domain import LEGAL_BASIS, PreservationOrder, order_id_for
from services.preservation.national_law import PROFILES, parse_policy

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday
POLICE = {"username": "poe", "role": "police"}


def issued_order() -> PreservationOrder:
    order = PreservationOrder(
        order_id=order_id_for("request-1", "telco-a"), case_id="case-1", request_id="request-1",
        provider_id="telco-a", identifiers=[], data_types=["traffic"], period_days=90,
        legal_basis=LEGAL_BASIS, direction="incoming", mla_intended=True, actor=POLICE,
    )  # fmt: skip
    order.issue(POLICE, NOW)
    return order


def test_art29_5_preservation_is_refused_only_on_its_five_grounds():
    assert set(allowed_refusal_grounds("preservation", False, [])) == set(ART29_5_GROUNDS)


def test_art29_4_dual_criminality_only_with_the_reservation_and_outside_arts_2_to_11():
    assert "dual_criminality" in allowed_refusal_grounds("preservation", True, [])
    assert "dual_criminality" in allowed_refusal_grounds("preservation", True, [12])
    assert "dual_criminality" not in allowed_refusal_grounds("preservation", True, [2, 8])
    assert "dual_criminality" not in allowed_refusal_grounds("preservation", False, [])


def test_art30_2_traffic_disclosure_only_on_the_art29_5_grounds():
    grounds = allowed_refusal_grounds("traffic_disclosure", True, [])
    assert set(grounds) == set(ART29_5_GROUNDS)
    assert all("Art 30(2)" in text for text in grounds.values())


def test_art29_7_a_held_order_is_not_released_but_a_refusal_still_ends_it():
    order = issued_order()
    order.hold_for_mla("mla-1")
    with pytest.raises(Conflict, match=r"Art 29\(7\)"):
        order.release("no longer needed", POLICE)
    order.release("request refused", POLICE, notice="no longer needed", decided=True)
    assert order.status == "released" and not order.holds
    assert order.closed["notice"] == "no longer needed"


def test_several_parties_one_order_until_none_needs_it():
    order = issued_order()
    assert order.cover("request-2", POLICE) and not order.cover("request-2", POLICE)
    assert order.request_ids == ["request-1", "request-2"]
    assert order.drop_request("request-1", "withdrawn")
    assert order.request_ids == ["request-2"] and order.closed is None


def test_art16_2_policy_maximum_and_art29_4_reservation_are_validated():
    base = dict(PROFILES["police-needs-approval"])
    assert parse_policy(base, "t").maximum_period_days == 90  # left out: the default
    with pytest.raises(ConfigurationError, match="maximum_period_days"):
        parse_policy({**base, "maximum_period_days": 30}, "t")
    with pytest.raises(ConfigurationError, match="art29_4_reservation"):
        parse_policy({**base, "art29_4_reservation": "yes"}, "t")
    with pytest.raises(ConfigurationError, match="default_period_days must not exceed"):
        parse_policy({**base, "maximum_period_days": 80}, "t")


def test_outgoing_receipt_chase_waits_for_the_destinations_office_hours():
    friday_evening = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)  # 20:00 in Sofia
    monday_opening = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # 09:00 in Sofia
    assert next_open(friday_evening, "Mon-Fri 09:00-17:30", "Europe/Sofia") == monday_opening
    assert next_open(NOW, "Mon-Fri 09:00-17:30", "Europe/Sofia") == NOW
    assert next_open(friday_evening, "24/7", "Europe/Sofia") == friday_evening
    assert next_open(friday_evening, "whenever", "Nowhere/Zone") == friday_evening


def test_outgoing_preserved_starts_our_mla_clock_and_the_chase_fires_once():
    follow_up = OutgoingFollowUp(
        request_id="r-1", case_id="c-1", country="NL", chase_at=iso(NOW), cp="police"
    )
    assert follow_up.clocks_due(NOW - timedelta(minutes=1), (21, 7, 2)) == []
    assert follow_up.clocks_due(NOW, (21, 7, 2)) == [("chase", None)]
    follow_up.chase("r-1", "c-1", "NL", iso(NOW), "police")
    assert follow_up.clocks_due(NOW, (21, 7, 2)) == []
    follow_up.start_mla_clock("r-1", "c-1", iso(NOW + timedelta(days=5)))
    assert follow_up.clocks_due(NOW, (21, 7, 2)) == [("remind", 7)]
    assert ("overdue", None) in follow_up.clocks_due(NOW + timedelta(days=6), (21, 7, 2))


def test_art29_6_notice_waits_for_the_decision_and_art29_5_refusal_ends_nothing_twice():
    from services.intake.domain import Request

    request = Request(
        request_id="00000000-0000-0000-0000-000000000001", case_id="c-1", direction="incoming",
        type="preservation", urgency="urgent", received_via="email", counterpart_country="US",
        requesting_authority={"country": "US"}, custodian=None, identifiers=[], data_types=[],
        period_days=90, mla_intended=True, warnings=[], completeness=1.0,
        near_duplicate_of=None, acknowledge_to=None, details={}, received_at=iso(NOW),
        our_reference="CP247-2026-00000000", actor=POLICE,
    )  # fmt: skip
    allowed = allowed_refusal_grounds("preservation", False, [])
    with pytest.raises(Invalid):
        request.refuse(["dual_criminality"], "x", allowed, POLICE)
    request.give_art29_6_notice("availability", "logs overwritten", POLICE)
    assert request.status == "awaiting_requester"
    with pytest.raises(Conflict):
        request.give_art29_6_notice("availability", "again", POLICE)
    request.record_art29_6_decision("execute", "", POLICE)
    assert request.status == "registered"
    request.withdraw("their case closed", POLICE)
    with pytest.raises(Conflict):
        request.withdraw("again", POLICE)
    with pytest.raises(Conflict):
        request.refuse(["security"], "x", allowed, POLICE)
