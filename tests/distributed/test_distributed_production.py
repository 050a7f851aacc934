"""Disclosure across the processes (issue 20): the gateway seals the files under the case
key, isp_liaison opens and checks them in its own process and keeps them sealed at rest; the
officer gets the same bytes back; an identification, an Art 30 report and an emergency each
go from arrival to what leaves for the requesting Party."""

from __future__ import annotations

import hashlib

import pytest
from distributed_cluster import Cluster, raw_event_bytes
from slice_driver import (
    issued_disclosure_order,
    issued_order,
    preservation_request,
    produced_file,
    wait_for,
)

pytestmark = pytest.mark.distributed

LOGS = b"2026-11-28T03:14:05Z subscriber DIST-PROD-4711 behind 198.51.100.7:40123\n"


def test_produced_files_cross_sealed_and_come_back_the_same(cluster: Cluster):
    api, tokens = cluster.api, cluster.tokens
    order = issued_disclosure_order(api, tokens, "US-DIST-PROD")
    isp = f"/api/v1/isp/orders/{order['order_id']}"
    file = produced_file(LOGS)
    status, receipt = api.call("POST", f"{isp}/produce", tokens["isp_a"], {"files": [file]})
    assert status == 201, receipt
    path = f"/api/v1/productions/{receipt['production_id']}/files/subscriber.csv"
    status, content = api.call("GET", path, tokens["police"])
    assert status == 200 and content.encode() == LOGS
    assert not any(b"DIST-PROD-4711" in state for state in raw_event_bytes(cluster))
    assert not any(file["content_base64"].encode() in state for state in raw_event_bytes(cluster))


def test_an_identification_goes_from_request_to_transmission_across_the_processes(
    cluster: Cluster,
):
    """Issue 20's identification flow in distributed mode: the request, the disclosure
    order at the provider, the production, the download, the transmission under conditions,
    every step on the one timeline with the file's digest."""
    api, tokens = cluster.api, cluster.tokens
    order = issued_disclosure_order(api, tokens, "US-DIST-IDENT")
    logs = b"2026-11-28T03:14:05Z subscriber DIST-IDENT-9001 behind 198.51.100.9:40123\n"
    digest = hashlib.sha256(logs).hexdigest()
    file = produced_file(logs)
    isp = f"/api/v1/isp/orders/{order['order_id']}"
    status, receipt = api.call("POST", f"{isp}/produce", tokens["isp_a"], {"files": [file]})
    assert status == 201, receipt
    ours = wait_for(
        lambda: (o := api.call("GET", f"/api/v1/disclosure-orders/{order['order_id']}",
                               tokens["police"])[1])["status"] == "produced" and o,
        what="the production known to preservation",
    )  # fmt: skip
    path = f"/api/v1/productions/{receipt['production_id']}/files/subscriber.csv"
    assert api.call("GET", path, tokens["police"])[0] == 200
    conditions = {"use_limited_to": "the investigation in the request", "confidential": True,
                  "further_transfer": "forbidden"}  # fmt: skip
    status, sent = api.call(
        "POST", f"/api/v1/requests/{ours['request_id']}/disclosures", tokens["prosecution"],
        {"production_ids": [receipt["production_id"]], "conditions": conditions},
    )  # fmt: skip
    assert status == 201 and sent["status"] == "sent", sent

    def all_on_timeline() -> list[dict] | None:
        path = f"/api/v1/cases/{order['case_id']}/timeline"
        entries = api.call("GET", path, tokens["police"])[1]["entries"]
        wanted = {"DataProduced", "ProductionFileRead", "DisclosureSent", "RequesterNotified"}
        return entries if wanted <= {e["event"] for e in entries} else None

    entries = wait_for(all_on_timeline, timeout=60, what="every step on the timeline")
    for event in ("DataProduced", "ProductionFileRead", "DisclosureSent"):
        assert digest in next(e["summary"] for e in entries if e["event"] == event), event


def timeline_events(api, tokens, case_id: str) -> list[str]:
    entries = api.call("GET", f"/api/v1/cases/{case_id}/timeline", tokens["police"])[1]["entries"]
    return [e["event"] for e in entries]


def test_an_art30_report_waits_for_the_prosecutor_across_the_processes(cluster: Cluster):
    api, tokens = cluster.api, cluster.tokens
    order = issued_order(api, tokens, "US-DIST-ART30")
    report = {"country": "DE", "provider_name": "B GmbH", "details": "via AS3320"}
    path = f"/api/v1/isp/orders/{order['order_id']}/foreign-provider"
    assert api.call("POST", path, tokens["isp_a"], report)[0] == 200
    disclosures = f"/api/v1/cases/{order['case_id']}/disclosures"
    pending = wait_for(
        lambda: api.call("GET", disclosures, tokens["police"])[1]["disclosures"],
        timeout=60, what="the pending Art 30 disclosure",
    )[0]  # fmt: skip
    assert pending["status"] == "pending" and "RequesterNotified" not in timeline_events(
        api, tokens, order["case_id"]
    )
    approve = f"/api/v1/disclosures/{pending['disclosure_id']}/approve"
    status, sent = api.call("POST", approve, tokens["prosecution"], {})
    assert status == 200 and sent["status"] == "sent", sent
    wait_for(
        lambda: "RequesterNotified" in timeline_events(api, tokens, order["case_id"]),
        timeout=60, what="the requesting CP told",
    )  # fmt: skip


def test_an_emergency_is_ordered_produced_and_sent_within_its_clock_across_the_processes(
    cluster: Cluster,
):
    api, tokens = cluster.api, cluster.tokens
    body = preservation_request(
        "US-DIST-EMERGENCY", type="emergency_disclosure", urgency="emergency",
        emergency={"risk": "a child is threatened with harm tonight"},
    )  # fmt: skip
    status, created = api.call("POST", "/api/v1/requests", tokens["police"], body)
    assert status == 201, created
    wait_for(
        lambda: any(e["case_id"] == created["case_id"]
                    for e in api.call("GET", "/api/v1/work", tokens["police"])[1]["emergencies"]),
        timeout=60, what="the emergency clock on the work list",
    )  # fmt: skip
    status, order = api.call(
        "POST", f"/api/v1/cases/{created['case_id']}/disclosure-orders", tokens["prosecution"],
        {"provider_id": "telco-a", "data_types": ["subscriber"],
         "identifiers": body["data"]["identifiers"]},
    )  # fmt: skip
    assert status == 201 and order["emergency"] is True, order
    isp = f"/api/v1/isp/orders/{order['order_id']}"
    seen = wait_for(
        lambda: (r := api.call("GET", isp, tokens["isp_a"]))[0] == 200 and r[1],
        timeout=60, what="the emergency order at the provider",
    )  # fmt: skip
    assert seen["emergency"] is True
    logs = b"2026-12-08T01:02:03Z subscriber DIST-EMERGENCY-77\n"
    status, receipt = api.call("POST", f"{isp}/produce", tokens["isp_a"],
                               {"files": [produced_file(logs)]})  # fmt: skip
    assert status == 201, receipt
    wait_for(
        lambda: api.call("GET", f"/api/v1/disclosure-orders/{order['order_id']}",
                         tokens["police"])[1]["status"] == "produced",
        timeout=60, what="the production known to preservation",
    )  # fmt: skip
    conditions = {"use_limited_to": "averting the threat", "confidential": True,
                  "further_transfer": "forbidden"}  # fmt: skip
    status, sent = api.call(
        "POST", f"/api/v1/requests/{created['request_id']}/disclosures", tokens["prosecution"],
        {"production_ids": [receipt["production_id"]], "conditions": conditions},
    )  # fmt: skip
    assert status == 201, sent
    events = wait_for(
        lambda: {"EmergencyDecided", "DisclosureSent"}
        <= set(e := timeline_events(api, tokens, created["case_id"])) and e,
        timeout=90, what="the emergency decided and the data sent, on the timeline",
    )  # fmt: skip
    assert events.index("EmergencyClockStarted") < events.index("DisclosureSent")
