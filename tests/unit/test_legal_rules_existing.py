"""Legal rules cp247 already enforced, each proven by a test named after its article (the
tests docs/legal-rules.md cites). Unit level: the domain modules and in-memory applications,
no broker and no HTTP."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from slice_driver import preservation_request

from cp247.config import ConfigurationError
from cp247.errors import Conflict, Forbidden, Invalid
from cp247.runtime.inbox import Inbox
from cp247.security_doc import matrix
from services.gateway.api import Gateway
from services.intake.app import IntakeApplication
from services.intake.checklist import required_fields_missing
from services.intake.hygiene import normalise_identifiers, parse_observed_at
from services.notification.app import NotificationApplication
from services.preservation.app import PreservationApplication
from services.preservation.domain import LEGAL_BASIS, PreservationOrder
from services.preservation.national_law import PROFILES, national_policy, parse_policy

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
POLICE = {"username": "poe", "role": "police"}
PROSECUTOR = {"username": "pat", "role": "prosecution"}
T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
RECEIVED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def issued_order(period_days: int = 60) -> PreservationOrder:
    order = PreservationOrder(
        order_id="0b6a3f4e-2c1d-4f5e-9a8b-7c6d5e4f3a21",
        case_id="case-1",
        request_id=None,
        provider_id="telco-a",
        identifiers=[],
        data_types=["traffic"],
        period_days=period_days,
        legal_basis=LEGAL_BASIS,
        direction="incoming",
        mla_intended=True,
        actor=PROSECUTOR,
    )
    order.issue(PROSECUTOR, T0)
    return order


def emergency_request(reference: str, urgency: str = "emergency") -> dict:
    return {
        "direction": "incoming",
        "type": "emergency_disclosure",
        "urgency": urgency,
        "requesting_authority": {
            "country": "FR",
            "contact_point": "OCLCTIC",
            "reference": reference,
        },
        "emergency": {"risk": "a child is threatened with harm tonight"},
        "offence": {"summary_of_facts": "threats sent from an account"},
        "data": {"identifiers": [{"kind": "account", "value": "threat_sender_01"}]},
    }


# --- Art 29(2): what a preservation request must specify ----------------------------------


def test_art29_2_request_lacking_an_item_is_refused_naming_its_letter():
    intake = IntakeApplication(env=POPO)
    with pytest.raises(Invalid) as refused:
        intake.register_request(preservation_request("LR-29-2", necessity="  "), POLICE)
    assert refused.value.extra["missing"] == ["29.2.e"]
    assert any("29.2.e" in problem for problem in refused.value.fields["necessity"])
    assert intake.list_cases() == []
    assert intake.register_request(preservation_request("LR-29-2"), POLICE)["created"]


def test_art29_2_c_time_without_offset_needs_the_authority_s_zone():
    moment, warnings = parse_observed_at("2026-07-01T10:00:00", "Europe/Bucharest", RECEIVED)
    assert moment == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # EEST, UTC+3
    assert warnings == ["timestamp_local_only"]
    with pytest.raises(ValueError, match="ambiguous"):
        parse_observed_at("2026-07-01T10:00:00", None, RECEIVED)
    assert parse_observed_at("2026-07-01T10:00:00+03:00", None, RECEIVED) == (moment, [])


def test_art29_2_c_time_after_receipt_is_refused():
    assert parse_observed_at("2026-11-28T12:04:00Z", None, RECEIVED)[1] == []  # clock skew
    with pytest.raises(ValueError, match="future"):
        parse_observed_at("2026-11-28T12:06:00Z", None, RECEIVED)
    with pytest.raises(ValueError, match="future"):
        parse_observed_at("2031-01-01T00:00:00Z", None, RECEIVED)


def test_art29_2_c_public_ipv4_without_port_is_flagged():
    bare = [{"kind": "ip", "value": "8.8.8.8", "port": None}]
    assert normalise_identifiers(bare, None, RECEIVED)[1] == ["ipv4_without_port"]
    with_port = [{"kind": "ip", "value": "8.8.8.8", "port": 51234}]
    assert normalise_identifiers(with_port, None, RECEIVED)[1] == []


def test_art29_2_c_an_officer_order_s_identifiers_follow_the_time_rules():
    app = PreservationApplication(env=POPO)
    ambiguous = {
        "kind": "ip",
        "value": "198.51.100.7",
        "port": 443,
        "observed_at": "2026-11-27 09:14",
    }
    with pytest.raises(Invalid) as refused:
        app.create_order(
            "case-1", {"provider_id": "telco-a", "identifiers": [ambiguous]}, PROSECUTOR
        )
    assert "identifiers.0.observed_at" in refused.value.fields
    clear = {**ambiguous, "observed_at": "2026-11-27T09:14:00+01:00"}
    order = app.create_order(
        "case-1", {"provider_id": "telco-a", "identifiers": [clear]}, PROSECUTOR
    )
    assert order["identifiers"][0]["observed_at"] == "2026-11-27T08:14:00.000000Z"


# --- Art 29(1): the requested Party preserves -----------------------------------------------


def test_art29_1_an_outgoing_request_never_orders_from_a_domestic_provider():
    intake, preservation = IntakeApplication(env=POPO), PreservationApplication(env=POPO)
    inbox = Inbox(preservation, "intake", intake.outbox, lambda *letter: None)
    ours = preservation_request("LR-29-1-OUT", direction="outgoing", counterpart_country="NL")
    outgoing = intake.register_request(ours, PROSECUTOR, custodian_listed=True)
    incoming = intake.register_request(preservation_request("LR-29-1-IN"), PROSECUTOR, True)
    inbox.catch_up()
    assert preservation.orders_of_case(outgoing["case_id"]) == []
    assert len(preservation.orders_of_case(incoming["case_id"])) == 1  # the contrast
    body = {"provider_id": "telco-a", "direction": "outgoing"}
    with pytest.raises(Invalid) as refused:
        preservation.create_order(outgoing["case_id"], body, PROSECUTOR)
    assert "direction" in refused.value.fields
    case = {
        "case_id": outgoing["case_id"],
        "direction": "outgoing",
        "requests": [{"request_id": outgoing["request_id"], "direction": "outgoing",
                      "type": "preservation", "status": "registered"}],
    }  # fmt: skip
    with pytest.raises(Conflict, match="foreign CP preserves"):
        Gateway._requests_to_cover(case, None)


# --- Art 29(3): preservation under domestic law --------------------------------------------


def test_art29_3_police_order_waits_for_a_prosecutor_s_approval():
    app = PreservationApplication(env={**POPO, "CP247_POLICY": "police-needs-approval"})
    order = app.create_order("case-1", {"provider_id": "telco-a"}, POLICE)
    assert order["status"] == "awaiting_approval" and order["issued_at"] is None
    with pytest.raises(Forbidden):
        app.approve_order(order["order_id"], POLICE)
    assert app.approve_order(order["order_id"], PROSECUTOR)["status"] == "issued"
    assert app.create_order("case-1", {"provider_id": "telco-b"}, PROSECUTOR)["status"] == "issued"
    direct = PreservationApplication(env={**POPO, "CP247_POLICY": "cp-orders-directly"})
    assert direct.create_order("case-2", {"provider_id": "telco-a"}, POLICE)["status"] == "issued"


# --- Art 29(5): refusal ---------------------------------------------------------------------


def test_art29_5_refusal_needs_convention_grounds_and_an_explanation():
    intake = IntakeApplication(env=POPO)
    request_id = intake.register_request(preservation_request("LR-29-5"), POLICE)["request_id"]
    with pytest.raises(Invalid) as wrong:
        intake.refuse_request(request_id, ["dislike"], "We do not like it.", PROSECUTOR)
    assert "grounds" in wrong.value.fields
    with pytest.raises(Invalid) as unexplained:
        intake.refuse_request(request_id, ["political_offence"], "  ", PROSECUTOR)
    assert "explanation" in unexplained.value.fields
    refused = intake.refuse_request(
        request_id, ["political_offence"], "The acts are a political offence.", PROSECUTOR
    )
    assert refused["status"] == "refused"
    assert refused["refusal"]["grounds"] == ["political_offence"]


def test_art29_5_only_a_prosecutor_may_refuse():
    refuse = [
        roles
        for method, path, roles in matrix()
        if method == "POST" and path == "/api/v1/requests/<request_id>/refuse"
    ]
    assert refuse == [("prosecution",)]


# --- Art 29(7) and Art 16(2): how long an order runs ----------------------------------------


def test_art29_7_period_is_never_below_sixty_days():
    policy = national_policy("police-needs-approval")
    assert policy.period(1) == 60
    assert policy.period(59) == 60
    assert policy.period(None) == policy.default_period_days >= 60
    short = copy.deepcopy(PROFILES["police-needs-approval"])
    short["default_period_days"] = 59
    with pytest.raises(ConfigurationError, match=r"Art 29\(7\)"):
        parse_policy(short, "a test policy")


def test_art29_7_order_held_by_mla_does_not_expire_until_decided():
    order = issued_order(60)
    assert order.hold_for_mla("mla-1")
    assert not order.due_to_expire(T0 + timedelta(days=400))
    assert not order.expire(T0 + timedelta(days=400))
    assert order.lift_hold("mla-1", "produced")
    assert order.expire(T0 + timedelta(days=400))
    assert order.status == "expired"


def test_art16_2_extensions_stay_within_the_national_maximum():
    order = issued_order(90)
    order.extend(60, maximum_total=90, actor=PROSECUTOR)
    order.extend(30, maximum_total=90, actor=PROSECUTOR)
    with pytest.raises(Invalid):
        order.extend(1, maximum_total=90, actor=PROSECUTOR)
    with pytest.raises(Invalid):
        issued_order(90).extend(0, maximum_total=90, actor=PROSECUTOR)
    assert order.expires_at == "2027-05-27T03:00:00.000000Z"  # 90 + 90 days, no more


# --- Art 30: traffic data and other providers -----------------------------------------------


def test_art30_traffic_disclosure_request_must_name_offence_data_and_custodian():
    body = {"type": "traffic_disclosure", "offence": {}, "data": {}}
    missing = required_fields_missing(body)
    assert {"offence.description", "data.identifiers", "data.custodian"} <= set(missing)
    assert all("Art 30" in missing[path][0] for path in ("offence.description", "data.custodian"))


# --- P2 Art 9: emergencies -----------------------------------------------------------------


def test_p2_art9_emergency_request_must_state_risk_facts_and_data():
    body = {"type": "emergency_disclosure", "emergency": {}, "offence": {}, "data": {}}
    missing = required_fields_missing(body)
    assert {"emergency.risk", "offence.summary_of_facts", "data.identifiers"} <= set(missing)
    assert "P2 Art 9" in missing["emergency.risk"][0]
    assert required_fields_missing(emergency_request("LR-P2-9-0")) == {}


def test_p2_art9_emergency_disclosure_is_always_an_emergency():
    intake = IntakeApplication(env=POPO)
    created = intake.register_request(emergency_request("LR-P2-9-1", urgency="routine"), POLICE)
    assert "urgency_set_to_emergency" in created["warnings"]
    assert intake.get_case(created["case_id"])["urgency"] == "emergency"


def test_p2_art9_emergency_request_alerts_the_duty_officer():
    intake, notification = IntakeApplication(env=POPO), NotificationApplication(env=POPO)
    inbox = Inbox(notification, "intake", intake.outbox, lambda *letter: None)
    routine = preservation_request("LR-P2-9-2", urgency="routine")
    intake.register_request(routine, POLICE)
    created = intake.register_request(emergency_request("LR-P2-9-3"), POLICE)
    inbox.catch_up()
    alerts = notification.open_alerts()
    assert [alert["case_id"] for alert in alerts] == [created["case_id"]]
