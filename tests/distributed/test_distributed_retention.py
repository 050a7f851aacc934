"""Encryption at rest and crypto-shredding against the real PostgreSQL: the raw tables never
show a case's personal data, and `cp247 retention apply` erases it in every service process."""

from __future__ import annotations

import json

import pytest
from distributed_cluster import Cluster, raw_event_bytes
from slice_driver import run_slice, wait_for

from cp247.samples import address_for

pytestmark = pytest.mark.distributed

EMAIL = "cp247@us.example"  # the requesting officer's address in every sample request


def test_personal_data_is_unreadable_at_rest_and_erased_by_retention(cluster: Cluster):
    api, tokens = cluster.api, cluster.tokens
    result = run_slice(api, tokens, "US-DIST-SHRED")
    ip = address_for("US-DIST-SHRED")
    stored = raw_event_bytes(cluster)
    assert len(stored) > 20
    assert not any(ip.encode() in state or EMAIL.encode() in state for state in stored)

    request_path = f"/api/v1/requests/{result['request_id']}"
    assert ip in json.dumps(api.call("GET", request_path, tokens["police"])[1])
    order_path = f"/api/v1/preservation-orders/{result['order']['order_id']}"
    status, _ = api.call("POST", f"{order_path}/release", tokens["prosecution"], {"reason": "x"})
    assert status == 200
    wait_for(lambda: api.call("GET", order_path, tokens["police"])[1]["closed"], what="release")

    erased = json.loads(cluster.cli.ok("retention", "apply", "--case", result["case_id"]))
    assert [e["case_id"] for e in erased["erased"]] == [result["case_id"]]

    def gone_everywhere() -> bool:
        request = api.call("GET", request_path, tokens["police"])[1]
        isp = api.call("GET", f"/api/v1/isp/orders/{result['order']['order_id']}", tokens["isp_a"])
        return ip not in json.dumps(request) and ip not in json.dumps(isp[1])

    wait_for(gone_everywhere, what="the erased case in every service")

    def audited() -> dict | None:
        status, report = api.call("GET", "/api/v1/audit/verify", tokens["admin"])
        assert status == 200, report
        return report if report["ok"] else None

    wait_for(audited, what="a clean audit after erasure")
    status, timeline = api.call(
        "GET", f"/api/v1/cases/{result['case_id']}/timeline", tokens["police"]
    )
    assert status == 200 and timeline["personal_data_erased"]["at"]
