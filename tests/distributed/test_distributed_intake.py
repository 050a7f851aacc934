"""Intake across processes: two intake replicas, both CPs at the same instant, one case."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import pytest
from distributed_cluster import Cluster
from slice_driver import preservation_request, wait_for

pytestmark = pytest.mark.distributed

REGISTERED = "cp247_requests_registered_total"
DUPLICATES = "cp247_duplicate_requests_total"


def served(cluster: Cluster, process: str) -> float:
    """How many registrations (new or duplicate) one intake process handled."""
    text_labels = {"type": "preservation"}
    new = cluster.metric(process, REGISTERED, country="US", direction="incoming", **text_labels)
    return new + cluster.metric(process, DUPLICATES, **text_labels)


def test_simultaneous_submissions_to_two_intake_replicas_make_one_case(cluster: Cluster):
    if len(cluster.processes_of("intake")) < 2:  # the cluster of one process per service
        cluster.start_replica("intake")
    intakes = cluster.processes_of("intake")
    assert len(intakes) == 2, intakes
    both_raced = False
    for attempt in range(3):
        before = {p: served(cluster, p) for p in intakes}
        body = preservation_request(f"US-RACE-{attempt}")
        roles = ["police", "prosecution"] * 8

        def submit(role: str, body: dict = body) -> tuple[int, dict]:
            return cluster.api.call("POST", "/api/v1/requests", cluster.tokens[role], body)

        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(submit, roles))
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200] * 15 + [201], answers
        created = next(answer for status, answer in answers if status == 201)
        for status, answer in answers:
            assert answer["case_id"] == created["case_id"]
            if status == 200:
                assert answer["duplicate_of"] == created["request_id"]
        after = {p: served(cluster, p) for p in intakes}
        assert sum(after.values()) - sum(before.values()) == 16
        both_raced = all(after[p] > before[p] for p in after)
        if both_raced:
            break
    assert both_raced, "the two intake processes never shared a burst"
    status, cases = cluster.api.call(
        "GET", "/api/v1/cases?country=US", cluster.tokens["prosecution"]
    )
    assert status == 200
    assert sum(1 for case in cases["cases"] if case["case_id"] == created["case_id"]) == 1


def test_near_duplicate_from_the_other_cp_joins_and_both_see_the_flag(cluster: Cluster):
    first = preservation_request("US-ND-DIST-1")
    status, one = cluster.api.call("POST", "/api/v1/requests", cluster.tokens["police"], first)
    assert status == 201, one
    second = preservation_request("US-ND-DIST-2")
    second["data"]["identifiers"] = copy.deepcopy(first["data"]["identifiers"])
    status, two = cluster.api.call(
        "POST", "/api/v1/requests", cluster.tokens["prosecution"], second
    )
    assert status == 200 and two["case_id"] == one["case_id"], two
    assert two["duplicate_of"] == one["request_id"]
    for role in ("police", "prosecution"):
        status, case = cluster.api.call(
            "GET", f"/api/v1/cases/{one['case_id']}", cluster.tokens[role]
        )
        assert status == 200
        assert [f["request_id"] for f in case["flags"] if f["status"] == "open"] == [
            two["request_id"]
        ]

    def joined_on_timeline() -> bool:
        status, timeline = cluster.api.call(
            "GET", f"/api/v1/cases/{one['case_id']}/timeline", cluster.tokens["police"]
        )
        return "RelatedRequestJoined" in {e["event"] for e in timeline["entries"]}

    wait_for(joined_on_timeline, what="the join on the shared timeline")
    # No second preservation order goes to the provider for the joined request.
    status, case = cluster.api.call(
        "GET", f"/api/v1/cases/{one['case_id']}", cluster.tokens["police"]
    )
    assert len(case["preservation_orders"]) == 1


def test_emergency_alert_and_directory_work_across_processes(cluster: Cluster):
    csv = (
        "country,kind,name,institutional_email,personal_emails,phones,office_hours,"
        "time_zone,languages,required_format,can_order_preservation\n"
        "FR,hybrid,OFAC 24/7,cp247@ofac.example.fr,,+33 1 55 55 01 00,24/7,"
        "Europe/Paris,fr;en,,yes\n"
    )
    status, counts = cluster.api.call(
        "POST", "/api/v1/contact-points/import", cluster.tokens["admin"], raw=csv.encode()
    )
    assert status == 200 and counts["created"] == 1, counts
    body = {
        "direction": "incoming",
        "type": "emergency_disclosure",
        "urgency": "emergency",
        "requesting_authority": {
            "country": "FR",
            "contact_point": "OFAC",
            "email": "cp247@ofac.example.fr",
            "reference": "FR-EM-1",
        },
        "emergency": {"risk": "a hostage is held"},
        "offence": {"summary_of_facts": "ransom demanded by e-mail"},
        "data": {"identifiers": [{"kind": "email", "value": "kidnapper@mail.example"}]},
    }
    status, created = cluster.api.call("POST", "/api/v1/requests", cluster.tokens["police"], body)
    assert status == 201 and "unknown_sender" not in created["warnings"], created
    assert created["acknowledgement"]["to"]["kind"] == "hybrid"

    def alerted() -> bool:
        status, timeline = cluster.api.call(
            "GET", f"/api/v1/cases/{created['case_id']}/timeline", cluster.tokens["police"]
        )
        events = {e["event"] for e in timeline["entries"]}
        return {"DutyAlertRaised", "ReceiptAcknowledged"} <= events

    wait_for(alerted, what="the duty alert and the receipt")
