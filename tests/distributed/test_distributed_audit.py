"""The audit in distributed mode: the quick check moves its checkpoint on over RPC, and a
full re-verification is run by a timeline process as a job the gateway can follow."""

from __future__ import annotations

import pytest
from distributed_cluster import Cluster
from slice_driver import full_verification, run_slice, wait_for

from cp247.clock import utcnow

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


def test_read_figures_ask_the_timeline_who_had_a_part_across_processes(cluster: Cluster):
    """The gateway counts reads in its own store and asks the timeline process (RPC) who has
    a part in each case read: here the police only read a case the prosecution registered."""
    month = utcnow().strftime("%Y-%m")  # from the month the reads began: to is this month
    run_slice(cluster.api, cluster.tokens, f"READS-D{cluster.replicas}")
    path = f"/api/v1/audit/read-figures?from={month}"
    status, report = cluster.api.call("GET", path, cluster.tokens["admin"])
    assert status == 200, report
    rows = {(row["month"], row["username"]): row for row in report["users"]}
    police = [row for (_, username), row in rows.items() if username == "poe"]
    assert sum(row["of_cases_without_part"] for row in police) >= 2, police
    assert all(row["outside_duty_hours"] is None for row in rows.values())  # no roster given
    assert all(
        row["of_cases_without_part"] is None for row in rows.values() if row["role"] == "isp"
    )
    assert report["totals"]["reads"] == sum(row["reads"] for row in rows.values())
