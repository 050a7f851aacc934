"""The audit in distributed mode: the quick check moves its checkpoint on over RPC, and a
full re-verification is run by a timeline process as a job the gateway can follow."""

from __future__ import annotations

import pytest
from distributed_cluster import Cluster
from slice_driver import full_verification, run_slice, wait_for

pytestmark = pytest.mark.distributed


def test_quick_check_and_full_re_verification_across_processes(cluster: Cluster):
    run_slice(cluster.api, cluster.tokens, f"AUDIT-D{cluster.replicas}")
    admin = cluster.tokens["admin"]

    def verified() -> dict | None:
        status, report = cluster.api.call("GET", "/api/v1/audit/verify", admin)
        assert status == 200, report
        return report if report["ok"] and report["verified_through"]["at"] else None

    quick = wait_for(verified, what="a clean quick check")
    assert sum(quick["verified_through"]["positions"].values()) > 0

    job = full_verification(cluster.api, admin)
    assert job["result"]["ok"], job["result"]
    assert job["progress"]["percent"] == 100 and job["progress"]["done"] > 0, job
    assert job["result"]["entries"] >= quick["entries"]  # the whole history again
    assert job["result"]["gateway_store"]["ok"]
