"""Decisions take effect across processes (RabbitMQ, PostgreSQL): a refusal releases the
order at the provider, Art 29(7) refuses a release while MLA is pending, and an outgoing
request is sent, acknowledged, answered and followed by our MLA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from distributed_cluster import Cluster
from slice_driver import preservation_request, wait_for

pytestmark = pytest.mark.distributed


def issued(cluster: Cluster, reference: str) -> tuple[dict, dict]:
    api, tokens = cluster.api, cluster.tokens
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request(reference)
    )
    assert status == 201, created

    def in_inbox() -> dict | None:
        _, inbox = api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])
        return next((o for o in inbox["orders"] if o["case_id"] == created["case_id"]), None)

    return created, wait_for(in_inbox, timeout=60, what="the order in the provider's inbox")


def test_art29_5_refusal_releases_the_order_at_the_provider_across_services(cluster: Cluster):
    api, tokens = cluster.api, cluster.tokens
    created, order = issued(cluster, "US-DIST-REFUSE-1")
    status, body = api.call(
        "POST", f"/api/v1/requests/{created['request_id']}/refuse", tokens["prosecution"],
        {"grounds": ["ordre_public"], "explanation": "contrary to ordre public"},
    )  # fmt: skip
    assert status == 200 and body["status"] == "refused", body
    path = f"/api/v1/isp/orders/{order['order_id']}"
    seen = wait_for(
        lambda: (o := api.call("GET", path, tokens["isp_a"])[1])["status"] == "released" and o,
        timeout=60,
        what="the provider to see the order released",
    )
    assert "ordre" not in (seen["release_notice"] or "")
    cp_view = f"/api/v1/preservation-orders/{order['order_id']}"
    wait_for(
        lambda: (
            (f := api.call("GET", cp_view, tokens["police"])[1]["mla_follow_up"])
            and f[0]["closed"] in ("request refused", "released")
        ),
        timeout=60,
        what="the MLA reminders stopped",
    )


def test_art29_7_release_refused_while_incoming_mla_pending_across_services(cluster: Cluster):
    api, tokens = cluster.api, cluster.tokens
    created, order = issued(cluster, "US-DIST-HOLD-1")
    status, mla = api.call(
        "POST", f"/api/v1/cases/{created['case_id']}/mla", tokens["prosecution"],
        {"direction": "incoming", "reference": "US-MLA-HOLD"},
    )  # fmt: skip
    assert status == 201, mla
    cp_view = f"/api/v1/preservation-orders/{order['order_id']}"
    wait_for(
        lambda: api.call("GET", cp_view, tokens["police"])[1]["held_for_mla"],
        timeout=60,
        what="the Art 29(7) hold",
    )
    release = f"{cp_view}/release"
    status, body = api.call("POST", release, tokens["prosecution"], {"reason": "not needed"})
    assert status == 409 and "Art 29(7)" in body["message"], body


def test_outgoing_request_life_across_services(cluster: Cluster):
    api, tokens = cluster.api, cluster.tokens
    body = preservation_request("RO-DIST-OUT-1", direction="outgoing", counterpart_country="NL")
    status, created = api.call("POST", "/api/v1/requests", tokens["prosecution"], body)
    assert status == 201, created
    path = f"/api/v1/requests/{created['request_id']}"
    assert api.call("POST", f"{path}/sent", tokens["police"], {"channel": "email"})[0] == 200
    status, body = api.call(
        "POST", f"{path}/foreign-receipt", tokens["police"], {"reference": "NL-77"}
    )
    assert status == 200 and body["foreign_receipt"]["reference"] == "NL-77", body
    expires = (datetime.now(UTC) + timedelta(days=40)).isoformat()
    status, body = api.call(
        "POST", f"{path}/answer", tokens["police"],
        {"outcome": "preserved", "expires_at": expires},
    )  # fmt: skip
    assert status == 200 and body["status"] == "answered", body

    def our_clock() -> dict | None:
        _, work = api.call("GET", "/api/v1/work", tokens["police"])
        return next(
            (c for c in work["our_mla_clocks"] if c["request_id"] == created["request_id"]), None
        )

    clock = wait_for(our_clock, timeout=60, what="our MLA clock across services")
    assert clock["mla_due"].startswith(expires[:10])
    status, _ = api.call(
        "POST", f"/api/v1/cases/{created['case_id']}/mla", tokens["prosecution"],
        {"direction": "outgoing", "reference": "RO-MLA-DIST"},
    )  # fmt: skip
    assert status == 201
    assert our_clock() is None
    # No domestic order came of it.
    _, inbox = api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])
    assert all(o["case_id"] != created["case_id"] for o in inbox["orders"])
