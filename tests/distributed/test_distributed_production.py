"""A production across the processes (issue 20): the gateway seals the files under the case
key, isp_liaison opens and checks them in its own process and keeps them sealed at rest; the
officer gets the same bytes back."""

from __future__ import annotations

import hashlib

import pytest
from distributed_cluster import Cluster, raw_event_bytes
from slice_driver import issued_disclosure_order, produced_file, wait_for

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
