"""Deletions behind the application's back in the distributed mode (issue 17): in PostgreSQL,
a refusal deleted in step from intake, notification and the timeline, and a token revocation
deleted from the gateway's store, are found by the audit over RPC and by the CLI.

These tests break the stores on purpose, so they run on a cluster of their own (one process
per service), never on the package's shared one whose later tests expect a clean audit.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from distributed_cluster import Cluster, running_cluster
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment
from slice_driver import full_verification, preservation_request, wait_for

from cp247.config import Settings
from services.timeline.domain import timeline_id

pytestmark = pytest.mark.distributed


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("integrity"), 1, definitions=False) as cluster:
        yield cluster


def verified(cluster: Cluster) -> dict:
    status, report = cluster.api.call("GET", "/api/v1/audit/verify", cluster.tokens["admin"])
    assert status == 200, report
    return report


def fully_verified(cluster: Cluster) -> dict:
    """A full re-verification's report (the quick check sees only what is new)."""
    return full_verification(cluster.api, cluster.tokens["admin"])["result"]


def clean(cluster: Cluster) -> dict:
    return wait_for(lambda: (r := verified(cluster))["ok"] and r, what="a clean audit")


def table(cluster: Cluster, service: str) -> str:
    """The service's table of stored events (its notification log), schema-qualified."""
    with psycopg.connect(cluster.database_url) as conn:
        (name,) = conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = %s "
            "AND column_name = 'notification_id' AND table_name LIKE %s",
            (service, "%\\_events"),
        ).fetchone()
    return f'"{service}"."{name}"'


def last_id(cluster: Cluster, service: str) -> int:
    with psycopg.connect(cluster.database_url) as conn:
        query = f"SELECT coalesce(max(notification_id), 0) FROM {table(cluster, service)}"
        return conn.execute(query).fetchone()[0]


def test_a_refusal_deleted_in_step_in_postgres_is_found(own_cluster: Cluster):
    cluster = own_cluster
    api, tokens = cluster.api, cluster.tokens
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("US-INT-STEP")
    )
    assert status == 201, created
    clean(cluster)
    stores = ("intake", "notification", "timeline")
    before = {service: last_id(cluster, service) for service in stores}
    status, body = api.call(
        "POST", f"/api/v1/requests/{created['request_id']}/refuse", tokens["prosecution"],
        {"grounds": ["security"], "explanation": "prejudice to national security"},
    )  # fmt: skip
    assert status == 200, body
    timeline_path = f"/api/v1/cases/{created['case_id']}/timeline"
    wait_for(
        lambda: (
            "RequestRefused" in str(api.call("GET", timeline_path, tokens["police"])[1])
            and last_id(cluster, "notification") > before["notification"]
        ),
        what="the refusal applied",
    )

    def caught_up() -> dict | None:
        """Clean, and the timeline has applied every record of intake and notification:
        nothing in flight that would reach it after the deletion below."""
        report = verified(cluster)
        positions = report["verified_through"]["positions"]
        done = report["ok"] and all(
            positions[service] >= last_id(cluster, service)
            for service in ("intake", "notification")
        )
        return report if done else None

    # What the timeline has applied: the insider deletes within it (notification may record
    # more meanwhile, a message delivered, say; those stay in every store).
    applied = wait_for(caught_up, what="every record applied")["verified_through"]["positions"]

    key = Settings(data_dir=Path(cluster.env["CP247_DATA_DIR"])).event_store_key()
    cipher = AESCipher(Environment(env={"CIPHER_KEY": key}))
    timeline = timeline_id(created["case_id"])
    # The insider edits while the timeline is not writing: an entry it appended meanwhile (a
    # notice sent, an alert escalated) would leave its versions torn, not a clean deletion.
    cluster.stop_service("timeline")
    with psycopg.connect(cluster.database_url, autocommit=True) as conn:
        deleted = {
            service: [
                row[0]
                for row in conn.execute(
                    f"DELETE FROM {table(cluster, service)} WHERE notification_id > %s "
                    "AND notification_id <= %s RETURNING notification_id",
                    (before[service], applied[service]),
                ).fetchall()
            ]
            for service in ("intake", "notification")
        }
        assert deleted["intake"] and deleted["notification"], deleted
        entries = table(cluster, "timeline")
        for notification_id, state in conn.execute(
            f"SELECT notification_id, state FROM {entries} "
            "WHERE originator_id = %s AND notification_id > %s AND topic LIKE %s",
            (timeline, before["timeline"], "%CaseTimeline.EntryRecorded"),
        ).fetchall():
            source = json.loads(zlib.decompress(cipher.decrypt(bytes(state))))["source"]
            if source["notification_id"] in deleted.get(source["service"], ()):
                conn.execute(
                    f"DELETE FROM {entries} WHERE notification_id = %s", (notification_id,)
                )
        versions = conn.execute(
            f"SELECT notification_id FROM {entries} WHERE originator_id = %s "
            "ORDER BY originator_version",
            (timeline,),
        ).fetchall()
        for version, (notification_id,) in enumerate(versions, start=1):  # no gaps left
            conn.execute(
                f"UPDATE {entries} SET originator_version = %s WHERE notification_id = %s",
                (version, notification_id),
            )

    cluster.start("timeline")
    report = fully_verified(cluster)
    assert report["ok"] is False and "first_broken" not in report, report
    assert {"producers", "timeline_store"} <= set(report["failed"])
    mismatch = report["producers"]["first_mismatch"]
    assert mismatch["case_id"] == created["case_id"]  # an admin asked
    assert mismatch["expected"]["events"] > mismatch["found"]["events"]
    assert cluster.cli.run("audit", "verify", "--full").returncode == 1


def test_a_deleted_revocation_in_postgres_is_found(own_cluster: Cluster):
    cluster = own_cluster
    identity = cluster.application("gateway")
    leaked = identity.issue_token(provider_id="telco-a")
    identity.revoke_token(leaked)  # sealed at once, in PostgreSQL
    identity.close()
    assert cluster.api.call("GET", "/api/v1/isp/orders", leaked)[0] == 401
    assert wait_for(lambda: (r := verified(cluster))["gateway_store"]["ok"] and r, what="sealed")[
        "gateway_store"
    ]["seals"]

    with psycopg.connect(cluster.database_url, autocommit=True) as conn:
        gone = conn.execute(
            f"DELETE FROM {table(cluster, 'gateway')} WHERE topic LIKE %s",
            ("%ApiToken.TokenRevoked",),
        ).rowcount
    assert gone == 1
    assert cluster.api.call("GET", "/api/v1/isp/orders", leaked)[0] == 200  # back again

    report = fully_verified(cluster)
    assert report["ok"] is False and "gateway_store" in report["failed"], report
    broken = report["gateway_store"]["first_broken"]
    assert broken["problem"] == "deleted" and broken["missing"] == {"ApiToken.TokenRevoked": 1}
    done = cluster.cli.run("audit", "verify")
    assert done.returncode == 1 and "TokenRevoked" in done.stdout, done.stdout
