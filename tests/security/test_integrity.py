"""Deletions behind the application's back, as the penetration test made them (issue 17).

A refusal erased in step from intake, notification and the timeline left every store agreeing
with the others; tokens and the read audit had no integrity check at all. Now the timeline
keeps, per case, each producer's count and last position apart from its entries, and the
gateway's store (users, tokens, sessions, the read log) is sealed by an HMAC chain: each of
these deletions makes ``cp247 audit verify`` and ``GET /api/v1/audit/verify`` say what broke.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from pathlib import Path

from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment
from slice_driver import PASSWORD, full_verification, preservation_request, wait_for

from services.gateway.audit_report import AuditReportSchema, VerificationSchema
from services.timeline.domain import timeline_id


def oversight_token(platform) -> str:
    identity = platform.apps["gateway"]
    identity.add_user("ovi", "oversight", PASSWORD)
    return identity.issue_token(username="ovi")


def verified(api, token: str) -> dict:
    status, report = api.call("GET", "/api/v1/audit/verify", token)
    assert status == 200, report
    assert AuditReportSchema().validate(report) == {}  # as the OpenAPI document says
    return report


def fully_verified(api, token: str) -> dict:
    """The report of a full re-verification: the quick check sees only what is new."""
    job = full_verification(api, token)
    assert VerificationSchema().validate(job) == {}, job
    return job["result"]


def settled(api, platform, token: str) -> dict:
    """The report once every event has been applied everywhere and it is clean."""

    def clean() -> dict | None:
        platform.deliver()
        report = verified(api, token)
        return report if report["ok"] else None

    return wait_for(clean, what="a clean audit")


def store(platform, name: str) -> Path:
    return platform.settings.data_dir / f"{name}.sqlite"


def last_row(platform, name: str) -> int:
    with sqlite3.connect(store(platform, name)) as conn:
        return conn.execute("SELECT coalesce(max(rowid), 0) FROM stored_events").fetchone()[0]


def test_a_refusal_deleted_in_step_from_every_store_is_found(embedded, tokens):
    api, cli, platform = embedded
    oversight = oversight_token(platform)
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("ERASED-1")
    )
    assert status == 201, created
    settled(api, platform, oversight)
    before = {name: last_row(platform, name) for name in ("intake", "notification", "timeline")}
    status, body = api.call(
        "POST", f"/api/v1/requests/{created['request_id']}/refuse", tokens["prosecution"],
        {"grounds": ["security"], "explanation": "prejudice to national security"},
    )  # fmt: skip
    assert status == 200 and body["status"] == "refused", body
    timeline_path = f"/api/v1/cases/{created['case_id']}/timeline"

    def refusal_applied() -> bool:
        platform.deliver()
        _, timeline = api.call("GET", timeline_path, tokens["police"])
        notified = last_row(platform, "notification") > before["notification"]
        return notified and "RequestRefused" in str(timeline)

    wait_for(refusal_applied, what="the refusal applied everywhere")
    settled(api, platform, oversight)

    # The insider deletes the refusal from intake, the notices it caused and the timeline
    # entries of both, in step; what each store holds then agrees with the others.
    deleted: dict[str, list[int]] = {}
    for name in ("intake", "notification"):
        with sqlite3.connect(store(platform, name)) as conn:
            rows = conn.execute(
                "SELECT rowid FROM stored_events WHERE rowid > ?", (before[name],)
            ).fetchall()
            deleted[name] = [rowid for (rowid,) in rows]
            conn.execute("DELETE FROM stored_events WHERE rowid > ?", (before[name],))
    assert deleted["intake"] and deleted["notification"], deleted
    cipher = AESCipher(Environment(env={"CIPHER_KEY": platform.settings.event_store_key()}))
    timeline = timeline_id(created["case_id"]).hex  # as SQLite keeps it
    with sqlite3.connect(store(platform, "timeline")) as conn:
        rows = conn.execute(
            "SELECT rowid, state FROM stored_events WHERE originator_id = ? AND rowid > ?",
            (timeline, before["timeline"]),
        ).fetchall()
        removed = 0
        for rowid, state in rows:
            source = json.loads(zlib.decompress(cipher.decrypt(state)))["source"]
            if source["notification_id"] in deleted.get(source["service"], ()):
                conn.execute("DELETE FROM stored_events WHERE rowid = ?", (rowid,))
                removed += 1
        # Versions are a plain column: closing the gaps needs no key, and the timeline loads.
        versions = conn.execute(
            "SELECT rowid FROM stored_events WHERE originator_id = ? ORDER BY originator_version",
            (timeline,),
        ).fetchall()
        for version, (rowid,) in enumerate(versions, start=1):
            conn.execute(
                "UPDATE stored_events SET originator_version = ? WHERE rowid = ?", (version, rowid)
            )
    assert removed

    report = fully_verified(api, oversight)
    assert report["ok"] is False, report
    assert "first_broken" not in report  # the entries alone agree with the producers now
    assert report["failed"] == ["producers", "timeline_store"]  # the tally; the seals
    mismatch = report["producers"]["first_mismatch"]
    assert mismatch["producer"] in ("intake", "notification")
    assert mismatch["expected"]["events"] > mismatch["found"]["events"]
    assert mismatch["expected"]["last_position"] > mismatch["found"]["last_position"]
    assert created["case_id"] not in json.dumps(report)  # oversight sees no case
    done = cli.run("audit", "verify", "--full")
    assert done.returncode == 1, done.stdout
    named = json.loads(done.stdout)["producers"]["first_mismatch"]
    assert named["case_id"] == created["case_id"]  # the operator learns which case


def test_a_deleted_token_revocation_is_found(embedded, tokens):
    api, cli, platform = embedded
    oversight = oversight_token(platform)
    identity = platform.apps["gateway"]
    leaked = identity.issue_token(provider_id="telco-a")
    identity.revoke_token(leaked)  # sealed at once
    assert api.call("GET", "/api/v1/isp/orders", leaked)[0] == 401
    assert settled(api, platform, oversight)["gateway_store"]["ok"]

    with sqlite3.connect(store(platform, "gateway")) as conn:
        gone = conn.execute(
            "DELETE FROM stored_events WHERE topic LIKE '%ApiToken.TokenRevoked'"
        ).rowcount
    assert gone == 1
    assert api.call("GET", "/api/v1/isp/orders", leaked)[0] == 200  # the token is back

    report = fully_verified(api, oversight)
    assert report["ok"] is False and report["failed"] == ["gateway_store"], report
    broken = report["gateway_store"]["first_broken"]
    assert broken["problem"] == "deleted"
    assert broken["missing"] == {"ApiToken.TokenRevoked": 1}
    done = cli.run("audit", "verify")
    assert done.returncode == 1 and "TokenRevoked" in done.stdout, done.stdout


def test_a_deleted_read_of_the_read_audit_is_found(embedded, tokens):
    api, cli, platform = embedded
    oversight = oversight_token(platform)
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("READ-GONE-1")
    )
    assert status == 201, created
    case_id = created["case_id"]
    assert api.call("GET", f"/api/v1/cases/{case_id}", tokens["police"])[0] == 200
    assert settled(api, platform, oversight)["gateway_store"]["ok"]  # the read is sealed now

    with sqlite3.connect(store(platform, "gateway")) as conn:
        gone = conn.execute("DELETE FROM stored_events WHERE topic LIKE '%ReadLog.Read'").rowcount
    assert gone == 1
    _, reads = api.call("GET", f"/api/v1/audit/reads?target=case:{case_id}", tokens["admin"])
    assert reads["reads"] == []  # who read the case is erased

    report = fully_verified(api, oversight)
    assert report["ok"] is False and "gateway_store" in report["failed"], report
    broken = report["gateway_store"]["first_broken"]
    assert broken["problem"] == "deleted" and broken["missing"] == {"ReadLog.Read": 1}
    assert broken["positions_without_record"]
    assert cli.run("audit", "verify").returncode == 1
