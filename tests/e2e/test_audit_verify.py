"""GET /api/v1/audit/verify and `cp247 audit verify`: the timeline recomputed from the event
stores, and a changed entry found."""

from __future__ import annotations

from slice_driver import edit_stored_event, full_verification, run_slice, wait_for


def test_timeline_matches_the_event_stores_until_someone_edits_it(embedded, tokens):
    api, cli, platform = embedded
    cli.ok("users", "add", "--username", "ovi", "--role", "oversight", "--password",
           "s3cret-enough-pw")  # fmt: skip
    oversight = cli.ok("tokens", "issue", "--username", "ovi")
    assert api.call("GET", "/api/v1/audit/verify", tokens["police"])[0] == 403
    result = run_slice(api, tokens, "AUDIT-1")

    def settled() -> dict | None:
        platform.deliver()
        status, report = api.call("GET", "/api/v1/audit/verify", oversight)
        assert status == 200
        return report if report["ok"] and report["entries"] >= 9 else None

    report = wait_for(settled, what="a clean audit")
    assert len(report["head_hash"]) == 64
    assert cli.run("audit", "verify").returncode == 0

    # Someone with the database and the key edits a stored timeline entry behind the
    # application's back (events are encrypted at rest, so only a key holder can).
    edit_stored_event(  # no SMTP here: the inbox wording
        platform.settings.data_dir / "timeline.sqlite", platform.settings.event_store_key(),
        b"Receipt to the requesting CP", b"Receipt IGNORED here",
    )  # fmt: skip
    # The quick check verifies what came after its checkpoint, which the entry is not; a
    # full re-verification finds it.
    status, quick = api.call("GET", "/api/v1/audit/verify", oversight)
    assert status == 200 and quick["verified_through"]["at"], quick
    job = full_verification(api, oversight)
    assert job["progress"]["percent"] == 100 and job["progress"]["done"] > 0, job
    report = job["result"]
    assert report["ok"] is False
    broken = report["first_broken"]
    assert broken["event"] == "ReceiptAcknowledged" and broken["problem"] == "altered"
    assert result["case_id"] not in str(job)  # no case ids for oversight
    done = cli.run("audit", "verify", "--full")
    assert done.returncode == 1 and '"altered"' in done.stdout
    assert "verified" in done.stderr and "(100%)" in done.stderr  # progress as it goes


def test_who_read_a_case_or_a_document_is_recorded(embedded, tokens):
    api, _, _ = embedded
    result = run_slice(api, tokens, "READS-1")
    case_id, order_id = result["case_id"], result["order"]["order_id"]
    api.call("GET", f"/api/v1/cases/{case_id}", tokens["police"])
    api.call("GET", f"/api/v1/isp/orders/{order_id}/document", tokens["isp_a"])
    api.call("GET", f"/api/v1/isp/orders/{order_id}/document", tokens["isp_b"])  # a 404
    status, pdf = api.call(
        "GET", f"/api/v1/preservation-orders/{order_id}/document", tokens["police"]
    )
    assert status == 200 and pdf.startswith(b"%PDF"), pdf
    status, reads = api.call("GET", f"/api/v1/audit/reads?target=case:{case_id}", tokens["admin"])
    assert status == 200 and [(r["username"], r["what"]) for r in reads["reads"]] == [
        ("poe", "case")
    ]
    _, timeline_reads = api.call(
        "GET", f"/api/v1/audit/reads?target=timeline:{case_id}", tokens["admin"]
    )
    assert {r["role"] for r in timeline_reads["reads"]} == {"police", "prosecution"}
    _, documents = api.call(
        "GET", f"/api/v1/audit/reads?target=document:{order_id}", tokens["admin"]
    )
    # The provider and the police officer; not the refused one.
    assert [r["username"] for r in documents["reads"]] == ["telco-a", "poe"]
    assert api.call("GET", "/api/v1/audit/reads?target=x", tokens["admin"])[0] == 422
    assert api.call("GET", f"/api/v1/audit/reads?target=case:{case_id}", tokens["police"])[0] == 403


def test_events_are_encrypted_at_rest(embedded, tokens):
    api, _, platform = embedded
    run_slice(api, tokens, "AT-REST-1")
    stores = b"".join(p.read_bytes() for p in platform.settings.data_dir.glob("*.sqlite*"))
    for secret in (b"cp247@us.example", b"ransomware", b"US 24/7 Network", b"AT-REST-1"):
        assert secret not in stores
