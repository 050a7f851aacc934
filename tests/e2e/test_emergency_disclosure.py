"""Emergency disclosure (Second Additional Protocol Art 9; issue 20, item 6), over HTTP,
embedded: a decision clock in minutes from receipt, escalated along the duty roster until an
order is issued; the order goes to the provider marked emergency, due in hours; and what it
produces leaves for the requesting Party under P2 Art 9(6) conditions."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from embedded_runner import running_embedded
from pypdf import PdfReader
from slice_driver import ROSTER, preservation_request, produced_file, wait_for

from cp247.clock import parse_iso, utcnow

LOGS = b"2026-12-08T01:02:03Z threat_sender_01 subscriber 9001 (K. Example)\n"


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "roster.yaml").write_text(ROSTER)
    monkeypatch.setenv("CP247_ROSTER", str(tmp_path / "roster.yaml"))
    with running_embedded(tmp_path / "data") as running:
        yield running


def emergency(api, tokens, reference: str) -> dict:
    """A foreign CP's emergency disclosure request, registered by the police CP."""
    body = preservation_request(
        reference,
        type="emergency_disclosure",
        urgency="emergency",
        emergency={"risk": "a child is threatened with harm tonight"},
    )
    status, created = api.call("POST", "/api/v1/requests", tokens["police"], body)
    assert status == 201, created
    return created


def clock_of(api, tokens, case_id: str) -> dict:
    _, work = api.call("GET", "/api/v1/work", tokens["police"])
    return next((e for e in work["emergencies"] if e["case_id"] == case_id), None)


def overdue_messages(api, tokens, case_id: str) -> list[dict]:
    _, body = api.call("GET", f"/api/v1/cases/{case_id}/messages", tokens["police"])
    return [m for m in body["messages"] if m["template"] == "emergency_overdue"]


def test_p2_art9_an_emergency_undecided_is_escalated_along_the_roster_until_ordered(
    embedded, tokens
):
    api, _, platform = embedded
    created = emergency(api, tokens, "EM-CLOCK")
    case_id = created["case_id"]
    clock = wait_for(lambda: clock_of(api, tokens, case_id), what="the emergency clock")
    received = parse_iso(clock["received_at"])
    assert parse_iso(clock["decide_by"]) - received == timedelta(minutes=60)  # the policy's
    assert clock["escalations"] == 0 and clock["decision"] is None

    preservation = platform.apps["preservation"]
    decide_by = parse_iso(clock["decide_by"])
    assert preservation.run_emergency_clocks(now=decide_by - timedelta(seconds=1)) == []
    assert preservation.run_emergency_clocks(now=decide_by) == [created["request_id"]]
    assert preservation.run_emergency_clocks(now=decide_by) == []  # once per period
    first = wait_for(
        lambda: len(m := overdue_messages(api, tokens, case_id)) == 2 and m,
        what="both duty officers told",
    )
    assert {tuple(m["recipients"]) for m in first} == {("ana@police.example",),
                                                      ("pat@pros.example",)}  # fmt: skip
    later = decide_by + timedelta(minutes=60)
    assert preservation.run_emergency_clocks(now=later) == [created["request_id"]]
    escalated = wait_for(
        lambda: len(m := overdue_messages(api, tokens, case_id)) == 3 and m,
        what="the escalation to the backup",
    )
    assert ["bob@police.example"] in [m["recipients"] for m in escalated]
    assert clock_of(api, tokens, case_id)["escalations"] == 2

    # the decision: a disclosure order, marked emergency, due in hours (the policy's 4)
    body = {"provider_id": "telco-a", "data_types": ["subscriber"],
            "identifiers": [{"kind": "account", "value": "threat_sender_01"}]}  # fmt: skip
    status, order = api.call(
        "POST", f"/api/v1/cases/{case_id}/disclosure-orders", tokens["prosecution"], body
    )
    assert status == 201 and order["status"] == "issued" and order["emergency"] is True, order
    due = parse_iso(order["due_by"]) - parse_iso(order["issued_at"])
    assert timedelta(hours=4) - timedelta(seconds=5) <= due <= timedelta(hours=4)

    def in_inbox() -> dict | None:
        status, seen = api.call("GET", f"/api/v1/isp/orders/{order['order_id']}", tokens["isp_a"])
        return seen if status == 200 else None

    assert wait_for(in_inbox, what="the order in the provider's inbox")["emergency"] is True
    document = wait_for(
        lambda: (
            (r := api.call_with_headers(
                "GET", f"/api/v1/isp/orders/{order['order_id']}/document", tokens["isp_a"]
            ))[0] == 200 and r[1]
        ),
        what="the order's document",
    )  # fmt: skip
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)
    assert "EMERGENCY" in text and "Art 9" in text

    # the clock stops at the order's issue, and nothing escalates any more
    far = later + timedelta(hours=5)
    assert preservation.run_emergency_clocks(now=far) == []
    assert clock_of(api, tokens, case_id) is None
    _, case = api.call("GET", f"/api/v1/cases/{case_id}", tokens["police"])
    [stopped] = case["emergency_clocks"]
    assert stopped["decision"]["how"] == "order issued"
    assert stopped["decision"]["at"] == order["issued_at"]
    platform.deliver()
    assert len(overdue_messages(api, tokens, case_id)) == 3


def test_p2_art9_6_an_emergency_production_leaves_under_conditions(embedded, tokens):
    api, _, platform = embedded
    created = emergency(api, tokens, "EM-FLOW")
    case_id = created["case_id"]
    wait_for(lambda: clock_of(api, tokens, case_id), what="the emergency clock")
    body = {"provider_id": "telco-a", "data_types": ["subscriber"],
            "identifiers": [{"kind": "account", "value": "threat_sender_01"}]}  # fmt: skip
    status, order = api.call(
        "POST", f"/api/v1/cases/{case_id}/disclosure-orders", tokens["prosecution"], body
    )
    assert status == 201, order
    wait_for(
        lambda: (
            api.call("GET", f"/api/v1/isp/orders/{order['order_id']}", tokens["isp_a"])[0] == 200
        ),
        what="the order in the provider's inbox",
    )
    file = produced_file(LOGS)
    status, produced = api.call(
        "POST", f"/api/v1/isp/orders/{order['order_id']}/produce", tokens["isp_a"],
        {"files": [file]},
    )  # fmt: skip
    assert status == 201, produced
    wait_for(
        lambda: api.call("GET", f"/api/v1/disclosure-orders/{order['order_id']}",
                         tokens["police"])[1]["status"] == "produced",
        what="the production known to our order",
    )  # fmt: skip
    conditions = {"use_limited_to": "averting the threat reported", "confidential": True,
                  "further_transfer": "forbidden"}  # fmt: skip
    status, sent = api.call(
        "POST", f"/api/v1/requests/{created['request_id']}/disclosures", tokens["prosecution"],
        {"production_ids": [produced["production_id"]], "conditions": conditions},
    )  # fmt: skip
    assert status == 201 and sent["status"] == "sent", sent
    assert platform.apps["preservation"].run_emergency_clocks() == []  # the sweep: decided
    # received, ordered, produced, sent: every step on the timeline, within the clock
    events = wait_for(
        lambda: (
            (e := [x["event"] for x in api.call(
                "GET", f"/api/v1/cases/{case_id}/timeline", tokens["police"])[1]["entries"]])
            and "DisclosureSent" in e and "EmergencyDecided" in e and e
        ),
        what="the whole emergency on the timeline",
    )  # fmt: skip
    steps = ["EmergencyClockStarted", "DisclosureOrderIssued", "DataProduced", "DisclosureSent"]
    assert [events.index(s) for s in steps] == sorted(events.index(s) for s in steps)
    _, case = api.call("GET", f"/api/v1/cases/{case_id}", tokens["police"])
    decided = case["emergency_clocks"][0]["decision"]
    assert parse_iso(decided["at"]) <= utcnow()


def test_p2_art9_an_emergency_refused_stops_its_clock(embedded, tokens):
    api, _, platform = embedded
    created = emergency(api, tokens, "EM-REF")
    clock = wait_for(lambda: clock_of(api, tokens, created["case_id"]), what="the clock")
    refusal = {"grounds": ["security"], "explanation": "prejudice to an ongoing operation"}
    path = f"/api/v1/requests/{created['request_id']}/refuse"
    assert api.call("POST", path, tokens["prosecution"], refusal)[0] == 200
    wait_for(lambda: clock_of(api, tokens, created["case_id"]) is None, what="the clock stopped")
    far = parse_iso(clock["decide_by"]) + timedelta(hours=3)
    assert platform.apps["preservation"].run_emergency_clocks(now=far) == []
    _, case = api.call("GET", f"/api/v1/cases/{created['case_id']}", tokens["police"])
    assert case["emergency_clocks"][0]["decision"]["how"] == "request refused"
