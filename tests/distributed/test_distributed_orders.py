"""The full order flow across processes: police order approved by a prosecutor, the ISP
acknowledges, preserves and fetches the signed document; MLA holds the order."""

from __future__ import annotations

import json
import urllib.request

import pytest
from distributed_cluster import Cluster
from slice_driver import preservation_request, wait_for

pytestmark = pytest.mark.distributed


def test_police_order_approved_acknowledged_preserved_with_its_document(cluster: Cluster):
    api, tokens = cluster.api, cluster.tokens
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["police"], preservation_request("US-DIST-ORDER-1")
    )
    assert status == 201, created

    def drafted() -> dict | None:
        _, case = api.call("GET", f"/api/v1/cases/{created['case_id']}", tokens["police"])
        return case["preservation_orders"][0] if case["preservation_orders"] else None

    order = wait_for(drafted, what="the drafted order")
    assert order["status"] == "awaiting_approval"
    approve = f"/api/v1/preservation-orders/{order['order_id']}/approve"
    assert api.call("POST", approve, tokens["police"])[0] == 403
    status, approved = api.call("POST", approve, tokens["prosecution"])
    assert status == 200 and approved["status"] == "issued", approved

    base = f"/api/v1/isp/orders/{order['order_id']}"
    wait_for(lambda: api.call("GET", base, tokens["isp_a"])[0] == 200, what="the inbox")
    assert api.call("GET", base, tokens["isp_b"])[0] == 404
    assert api.call("POST", f"{base}/acknowledge", tokens["isp_b"])[0] == 404
    ack = api.call("POST", f"{base}/acknowledge", tokens["isp_a"])
    assert ack[0] == 200 and api.call("POST", f"{base}/acknowledge", tokens["isp_a"]) == ack
    preserved = api.call(
        "POST", f"{base}/preserved", tokens["isp_a"], {"note": "kept", "records": 7}
    )
    assert preserved[0] == 200 and preserved[1]["status"] == "preserved", preserved

    request = urllib.request.Request(api.base_url + f"{base}/document")
    request.add_header("Authorization", f"Bearer {tokens['isp_a']}")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.read().startswith(b"%PDF")
    status, signature = api.call("GET", f"{base}/document.sig", tokens["isp_a"])
    assert status == 200 and signature["algorithm"] == "Ed25519", json.dumps(signature)

    cp_view = f"/api/v1/preservation-orders/{order['order_id']}"
    wait_for(
        lambda: api.call("GET", cp_view, tokens["prosecution"])[1]["status"] == "preserved",
        what="preservation to record the provider's report",
    )
    status, mla = api.call(
        "POST", f"/api/v1/cases/{created['case_id']}/mla", tokens["prosecution"],
        {"direction": "incoming", "reference": "US-MLA-DIST", "stage": "trial"},
    )  # fmt: skip
    assert status == 201 and mla["authority"] == "Ministry of Justice", mla
    wait_for(
        lambda: api.call("GET", cp_view, tokens["police"])[1]["held_for_mla"] == [mla["mla_id"]],
        what="the Art 29(7) hold across processes",
    )

    def timeline_complete() -> bool:
        _, timeline = api.call(
            "GET", f"/api/v1/cases/{created['case_id']}/timeline", tokens["police"]
        )
        events = {e["event"] for e in timeline["entries"]}
        return {"OrderApproved", "OrderIssued", "DataPreserved", "OrderHeldForMla"} <= events

    wait_for(timeline_complete, what="every step on the shared timeline")
