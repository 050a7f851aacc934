"""Intake over HTTP (embedded, tokens): every request type, warnings, near duplicates, decisions."""

from __future__ import annotations

import copy

import pytest
from slice_driver import preservation_request, wait_for

MINIMAL = {
    "traffic_disclosure": {
        "offence": {"description": "fraud"},
        "data": {
            "identifiers": [{"kind": "domain", "value": "example.org"}],
            "custodian": {"provider_id": "telco-a"},
        },
    },
    "subscriber_identification": {
        "offence": {"description": "extortion"},
        "data": {
            "identifiers": [
                {
                    "kind": "ip",
                    "value": "198.51.100.9",
                    "port": 40000,
                    "observed_at": "2026-11-20T10:00:00Z",
                }
            ]
        },
    },
    "emergency_disclosure": {
        "urgency": "emergency",
        "emergency": {"risk": "a child is threatened with harm tonight"},
        "offence": {"summary_of_facts": "threats sent from an account"},
        "data": {"identifiers": [{"kind": "account", "value": "threat_sender_01"}]},
    },
    "mla_stored_data": {
        "offence": {
            "description": "fraud",
            "summary_of_facts": "money moved through accounts",
            "provisions": "Criminal Code s. 244",
        },
        "responsible_authority": {"name": "Prosecutor General's Office"},
        "data": {"types": ["content"], "relationship_to_offence": "mailbox of the suspect"},
    },
    "technical_advice": {"offence": {"description": "how to read a router log"}},
    "legal_information": {"offence": {"description": "retention periods in your law"}},
    "locate_suspect": {"offence": {"description": "suspect travelled to your country"}},
}
MINIMAL["mla_realtime_traffic"] = MINIMAL["mla_stored_data"]
MINIMAL["mla_interception"] = MINIMAL["mla_stored_data"]
MANDATORY = {
    "traffic_disclosure": "data.custodian",
    "subscriber_identification": "data.identifiers",
    "emergency_disclosure": "emergency.risk",
    "mla_stored_data": "offence.provisions",
    "mla_realtime_traffic": "responsible_authority.name",
    "mla_interception": "data.types",
    "technical_advice": "offence.description",
    "legal_information": "offence.description",
    "locate_suspect": "offence.description",
}


def request_of(kind: str, reference: str, direction: str = "incoming") -> dict:
    body = {
        "direction": direction,
        "type": kind,
        "requesting_authority": {
            "country": "FR",
            "contact_point": "OCLCTIC",
            "reference": reference,
        },
    }
    body.update(copy.deepcopy(MINIMAL[kind]))
    return body


def drop(body: dict, path: str) -> dict:
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node[part]
    node.pop(last, None)
    return body


@pytest.mark.parametrize("kind", sorted(MINIMAL))
@pytest.mark.parametrize("direction", ["incoming", "outgoing"])
def test_every_request_type_is_accepted_with_its_mandatory_facts(embedded, tokens, kind, direction):
    api, _, _ = embedded
    status, body = api.call(
        "POST",
        "/api/v1/requests",
        tokens["police"],
        request_of(kind, f"{kind}-{direction}", direction),
    )
    assert status == 201, body
    assert 0 < body["completeness"] < 1
    assert any(w.startswith("recommended_missing:") for w in body["warnings"])


@pytest.mark.parametrize("kind", sorted(MANDATORY))
def test_each_type_names_its_missing_mandatory_fact(embedded, tokens, kind):
    api, _, _ = embedded
    body = drop(request_of(kind, f"{kind}-gap"), MANDATORY[kind])
    status, answer = api.call("POST", "/api/v1/requests", tokens["police"], body)
    assert status == 422, answer
    assert MANDATORY[kind] in answer["fields"]
    assert "missing" not in answer  # Art 29(2) letters are for preservation only


def test_subscriber_identification_needs_the_exact_time_of_an_ip(embedded, tokens):
    api, _, _ = embedded
    body = request_of("subscriber_identification", "SI-no-time")
    del body["data"]["identifiers"][0]["observed_at"]
    status, answer = api.call("POST", "/api/v1/requests", tokens["police"], body)
    assert status == 422 and "data.identifiers.0.observed_at" in answer["fields"], answer


def test_complete_checklist_scores_higher_than_a_bare_one(embedded, tokens):
    api, _, _ = embedded
    full = preservation_request("CHK-FULL")
    full["requesting_authority"].update(
        {"city": "Washington", "phone": "+12025550100", "date": "2026-11-28"}
    )
    full["responsible_authority"] = {"name": "DoJ CCIPS", "case_number": "2026-77"}
    full["offence"].update({"provisions": "18 USC 1030", "max_penalty": "10 years"})
    full["follow_up"] = {"partial_disclosure_requested": True, "feedback_requested": True}
    _, rich = api.call("POST", "/api/v1/requests", tokens["police"], full)
    _, bare = api.call("POST", "/api/v1/requests", tokens["police"], preservation_request("CHK-B"))
    assert rich["completeness"] == 1.0 and bare["completeness"] < 1.0
    assert not [w for w in rich["warnings"] if w.startswith("recommended_missing")]
    assert "recommended_missing:offence.provisions" in bare["warnings"]
    status, stored = api.call("GET", f"/api/v1/requests/{bare['request_id']}", tokens["police"])
    assert status == 200 and stored["completeness"] == bare["completeness"]


def test_near_duplicate_joins_the_case_flagged_and_can_be_split(embedded, tokens):
    api, _, _ = embedded
    first = preservation_request("ND-1")
    status, one = api.call("POST", "/api/v1/requests", tokens["police"], first)
    assert status == 201
    second = preservation_request("ND-2")  # other reference, same address and provider
    second["data"]["identifiers"] = copy.deepcopy(first["data"]["identifiers"])
    second["data"]["identifiers"][0]["observed_at"] = "2026-11-27T22:40:00-05:00"  # 26 min later
    status, two = api.call("POST", "/api/v1/requests", tokens["prosecution"], second)
    assert status == 200, two  # API.md: same identifiers, provider and time window
    assert two["case_id"] == one["case_id"] and two["duplicate_of"] == one["request_id"]
    assert two["near_duplicate_of"] == one["request_id"]
    assert two["request_id"] != one["request_id"]  # kept, for a person to confirm or split
    assert "near_duplicate" in two["warnings"]
    for role in ("police", "prosecution"):
        _, case = api.call("GET", f"/api/v1/cases/{one['case_id']}", tokens[role])
        assert case["flags"] == [
            {
                "kind": "near_duplicate",
                "request_id": two["request_id"],
                "matches": one["request_id"],
                "reason": case["flags"][0]["reason"],
                "status": "open",
            }
        ]
    status, work = api.call("GET", "/api/v1/work", tokens["police"])
    assert status == 200 and [c["case_id"] for c in work["flagged_cases"]] == [one["case_id"]]
    path = f"/api/v1/cases/{one['case_id']}/near-duplicates/{two['request_id']}"
    status, split = api.call("POST", path, tokens["prosecution"], {"resolution": "split"})
    assert status == 200, split
    _, work = api.call("GET", "/api/v1/work", tokens["police"])
    assert work["flagged_cases"] == []  # split: no open flag left
    assert split["case_id"] != one["case_id"] and split["request_ids"] == [two["request_id"]]
    _, case = api.call("GET", f"/api/v1/cases/{one['case_id']}", tokens["police"])
    assert case["flags"][0]["status"] == "split" and case["request_ids"] == [one["request_id"]]
    status, again = api.call("POST", path, tokens["prosecution"], {"resolution": "confirmed"})
    assert status == 409, again


def test_same_address_days_apart_is_not_a_near_duplicate(embedded, tokens):
    api, _, _ = embedded
    first = preservation_request("FAR-1")
    _, one = api.call("POST", "/api/v1/requests", tokens["police"], first)
    later = preservation_request("FAR-2")
    later["data"]["identifiers"] = copy.deepcopy(first["data"]["identifiers"])
    later["data"]["identifiers"][0]["observed_at"] = "2026-11-20T08:00:00Z"
    status, two = api.call("POST", "/api/v1/requests", tokens["police"], later)
    assert status == 201 and two["case_id"] != one["case_id"] and "duplicate_of" not in two


def test_prosecutor_refuses_on_convention_grounds_and_the_requester_is_told(embedded, tokens):
    api, _, _ = embedded
    _, created = api.call(
        "POST", "/api/v1/requests", tokens["police"], preservation_request("RF-1")
    )
    path = f"/api/v1/requests/{created['request_id']}/refuse"
    refusal = {"grounds": ["political_offence"], "explanation": "The acts are a political offence."}
    assert api.call("POST", path, tokens["police"], refusal)[0] == 403
    status, body = api.call(
        "POST", path, tokens["prosecution"], {"grounds": ["dislike"], "explanation": "x"}
    )
    assert status == 422 and "grounds" in body["fields"]
    status, body = api.call("POST", path, tokens["prosecution"], refusal)
    assert status == 200 and body["status"] == "refused"
    assert body["refusal"]["grounds"] == ["political_offence"]
    assert api.call("POST", path, tokens["prosecution"], refusal)[0] == 409

    def told() -> bool:
        _, timeline = api.call(
            "GET", f"/api/v1/cases/{created['case_id']}/timeline", tokens["police"]
        )
        return "RequesterNotified" in {e["event"] for e in timeline["entries"]}

    wait_for(told, what="the requesting CP to be told of the refusal")


def test_art29_6_notice_is_recorded_and_sent(embedded, tokens):
    api, _, _ = embedded
    _, created = api.call("POST", "/api/v1/requests", tokens["police"], preservation_request("N6"))
    path = f"/api/v1/requests/{created['request_id']}/art29-6-notice"
    status, body = api.call(
        "POST",
        path,
        tokens["police"],
        {"reason": "confidentiality", "explanation": "The ISP would tip off."},
    )
    assert status == 200 and body["art29_6_notices"][0]["reason"] == "confidentiality"
    status, body = api.call(
        "POST", path, tokens["police"], {"reason": "boredom", "explanation": ""}
    )
    assert status == 422 and "reason" in body["fields"]

    def sent() -> bool:
        _, timeline = api.call(
            "GET", f"/api/v1/cases/{created['case_id']}/timeline", tokens["prosecution"]
        )
        events = [e["event"] for e in timeline["entries"]]
        return "Art296NoticeGiven" in events and "RequesterNotified" in events

    wait_for(sent, what="the Art 29(6) notice on the timeline")


def test_emergency_request_alerts_the_duty_officer_at_once(embedded, tokens):
    api, _, _ = embedded
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["police"], request_of("emergency_disclosure", "EM-1")
    )
    assert status == 201

    def alerted() -> bool:
        _, timeline = api.call(
            "GET", f"/api/v1/cases/{created['case_id']}/timeline", tokens["police"]
        )
        return "DutyAlertRaised" in {e["event"] for e in timeline["entries"]}

    wait_for(alerted, what="a duty-officer alert")


def test_emergency_disclosure_is_always_treated_as_an_emergency(embedded, tokens):
    api, _, _ = embedded
    body = request_of("emergency_disclosure", "EM-2")
    body["urgency"] = "routine"
    status, created = api.call("POST", "/api/v1/requests", tokens["police"], body)
    assert status == 201 and "urgency_set_to_emergency" in created["warnings"]
    _, case = api.call("GET", f"/api/v1/cases/{created['case_id']}", tokens["police"])
    assert case["urgency"] == "emergency"


def test_either_cp_can_be_made_lead(embedded, tokens):
    api, _, _ = embedded
    _, created = api.call("POST", "/api/v1/requests", tokens["police"], preservation_request("L1"))
    path = f"/api/v1/cases/{created['case_id']}/lead"
    status, case = api.call("POST", path, tokens["police"], {"lead": "prosecution"})
    assert status == 200 and case["lead"] == "prosecution"
    assert api.call("POST", path, tokens["police"], {"lead": "army"})[0] == 422
    assert api.call("POST", path, tokens["isp_a"], {"lead": "police"})[0] == 403


def test_directory_addresses_the_receipt_and_flags_unknown_senders(embedded, tokens):
    api, _, _ = embedded
    csv = open("examples/contact-points.csv", encoding="utf-8").read().encode()  # noqa: SIM115
    assert api.call("POST", "/api/v1/contact-points/import", tokens["police"], raw=csv)[0] == 403
    status, counts = api.call("POST", "/api/v1/contact-points/import", tokens["admin"], raw=csv)
    assert status == 200 and counts["created"] >= 4, counts
    status, listed = api.call("GET", "/api/v1/contact-points?country=US", tokens["police"])
    assert status == 200 and listed["contact_points"][0]["kind"] == "hybrid"
    us_email = listed["contact_points"][0]["personal_emails"][0]

    known = preservation_request("DIR-1")
    known["requesting_authority"]["email"] = us_email.upper()
    status, body = api.call("POST", "/api/v1/requests", tokens["police"], known)
    assert status == 201 and "unknown_sender" not in body["warnings"], body
    assert (
        body["acknowledgement"]["to"]["email"] == listed["contact_points"][0]["institutional_email"]
    )

    stranger = preservation_request("DIR-2")
    stranger["requesting_authority"]["email"] = "someone@webmail.example"
    status, body = api.call("POST", "/api/v1/requests", tokens["police"], stranger)
    assert status == 201 and "unknown_sender" in body["warnings"], body

    status, body = api.call(
        "POST", "/api/v1/contact-points/import", tokens["admin"], raw=b"country,kind\nXX,y\n"
    )
    assert status == 422, body
    status, body = api.call("GET", "/api/v1/contact-points/ZZ/police", tokens["police"])
    assert status == 404, body


def test_readme_walkthrough_example_registers_complete_and_once(embedded, tokens):
    """examples/preservation-request.json as the README's walkthrough uses it."""
    import json
    from pathlib import Path

    api, cli, _ = embedded
    examples = Path(__file__).resolve().parents[2] / "examples"
    cli.ok("contact-points", "import", str(examples / "contact-points.csv"))
    body = json.loads((examples / "preservation-request.json").read_text())
    status, created = api.call("POST", "/api/v1/requests", tokens["prosecution"], body)
    assert status == 201, created
    assert created["completeness"] == 1.0
    assert "timestamp_local_only" in created["warnings"]
    assert "unknown_sender" not in created["warnings"]
    assert created["acknowledgement"]["to"]["kind"] == "hybrid"
    status, again = api.call("POST", "/api/v1/requests", tokens["police"], body)
    assert status == 200 and again["duplicate_of"] == created["request_id"]
    status, stored = api.call("GET", f"/api/v1/requests/{created['request_id']}", tokens["police"])
    local = stored["identifiers"][1]
    assert local["observed_at"] == "2026-11-28T03:20:00.000000Z"
    assert local["observed_at_text"] == "2026-11-27 10:20:00 PM"
