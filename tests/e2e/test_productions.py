"""Production by the provider (API.md "Disclosure and production", issue 20, item 2), over
HTTP, embedded: files checked by their SHA-256 on receipt, idempotent, sealed under the case
key and erased with it, read by officers only and every read on record."""

from __future__ import annotations

import hashlib
import json

import pytest
from slice_driver import issued_disclosure_order, issued_order, produced_file, wait_for

from cp247 import casekeys

LOGS = b"2026-11-28T03:14:05Z 198.51.100.7:40123 subscriber 4711 (J. Example)\n"


@pytest.fixture(autouse=True)
def no_key_cache(monkeypatch):
    # The CLI destroys the key in another process; the server must not keep using its copy.
    monkeypatch.setattr(casekeys, "CACHE_SECONDS", 0.0)


def a_file(content: bytes = LOGS, name: str = "subscriber.csv", **overrides) -> dict:
    return produced_file(content, name, **overrides)


def answered(api, tokens, order_id: str) -> None:
    path = f"/api/v1/disclosure-orders/{order_id}"
    wait_for(
        lambda: api.call("GET", path, tokens["police"])[1]["status"] == "produced",
        what="the disclosure order produced",
    )


def produce(api, token: str, order_id: str, files: list[dict], note: str = "") -> tuple:
    path = f"/api/v1/isp/orders/{order_id}/produce"
    return api.call("POST", path, token, {"files": files, "note": note})


def test_a_production_is_checked_kept_once_and_read_by_officers_on_record(embedded, tokens):
    api, _, platform = embedded
    order = issued_disclosure_order(api, tokens, "PROD-1")
    files = [a_file(), a_file(b"%PDF-1.4 letter\n", "letter.pdf", media_type="application/pdf")]
    status, receipt = produce(api, tokens["isp_a"], order["order_id"], files, "from the CGNAT logs")
    assert status == 201, receipt
    assert [f["sha256"] for f in receipt["files"]] == [f["sha256"] for f in files]
    assert receipt["files"][0]["size"] == len(LOGS)
    platform.deliver()
    heads = {name: platform.apps[name].outbox_head() for name in ("isp_liaison", "preservation")}
    # the same files again: the same answer, nothing recorded
    assert produce(api, tokens["isp_a"], order["order_id"], files, "again") == (201, receipt)
    platform.deliver()
    assert {name: platform.apps[name].outbox_head() for name in heads} == heads

    production_id = receipt["production_id"]
    status, production = api.call("GET", f"/api/v1/productions/{production_id}", tokens["police"])
    assert status == 200, production
    assert production["provider_id"] == "telco-a" and production["case_id"] == order["case_id"]
    assert [f["sha256"] for f in production["files"]] == [f["sha256"] for f in files]
    status, content, headers = api.call_with_headers(
        "GET", f"/api/v1/productions/{production_id}/files/subscriber.csv", tokens["prosecution"]
    )
    assert status == 200 and (content if isinstance(content, bytes) else content.encode()) == LOGS
    assert headers["X-Content-SHA256"] == files[0]["sha256"]
    assert "attachment" in headers["Content-Disposition"]
    assert api.call("GET", f"/api/v1/productions/{production_id}", tokens["isp_a"])[0] == 403
    assert api.call("GET", f"/api/v1/productions/{production_id}/files/nope.csv",
                    tokens["police"])[0] == 404  # fmt: skip

    # the order is answered, on the provider's side and ours, with the digests on the timeline
    answered(api, tokens, order["order_id"])
    entries = api.call("GET", f"/api/v1/cases/{order['case_id']}/timeline", tokens["police"])[1]
    produced = [e for e in entries["entries"] if e["event"] == "DataProduced"]
    assert len(produced) == 1 and files[1]["sha256"] in produced[0]["summary"]
    status, reads = api.call(
        "GET", f"/api/v1/audit/reads?target=production_file:{production_id}", tokens["admin"]
    )
    assert status == 200 and reads["reads"][0]["username"] == "pat", reads


def test_a_production_whose_digest_does_not_match_is_refused(embedded, tokens):
    api, _, _ = embedded
    order = issued_disclosure_order(api, tokens, "PROD-2")
    wrong = a_file(sha256=hashlib.sha256(b"something else").hexdigest())
    status, body = produce(api, tokens["isp_a"], order["order_id"], [wrong])
    assert status == 422 and "files.0.sha256" in body["fields"], body
    status, body = produce(api, tokens["isp_a"], order["order_id"], [a_file(name="../etc")])
    assert status == 422 and "files.0.name" in body["fields"], body
    status, body = produce(api, tokens["isp_a"], order["order_id"], [])
    assert status == 422 and "files" in body["fields"], body
    assert produce(api, tokens["isp_b"], order["order_id"], [a_file()])[0] == 404


def test_a_preservation_order_has_nothing_to_produce(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "PROD-3")
    status, body = produce(api, tokens["isp_a"], order["order_id"], [a_file()])
    assert status == 409, body


def test_a_production_is_erased_with_its_case(embedded, tokens):
    api, cli, platform = embedded
    order = issued_disclosure_order(api, tokens, "PROD-4")
    status, receipt = produce(api, tokens["isp_a"], order["order_id"], [a_file()])
    assert status == 201, receipt
    answered(api, tokens, order["order_id"])
    platform.deliver()
    erased = json.loads(cli.ok("retention", "apply", "--case", order["case_id"]))
    assert [e["case_id"] for e in erased["erased"]] == [order["case_id"]]
    path = f"/api/v1/productions/{receipt['production_id']}"
    status, body = api.call("GET", f"{path}/files/subscriber.csv", tokens["police"])
    assert status == 410 and body["error"] == "erased", body
    status, production = api.call("GET", path, tokens["police"])
    assert status == 200 and production["erased"] is True and production["files"] == []
    assert "4711" not in json.dumps(production)


def test_retention_keeps_a_case_whose_disclosure_order_is_unanswered(embedded, tokens):
    api, cli, _ = embedded
    order = issued_disclosure_order(api, tokens, "PROD-5")
    kept = cli.run("retention", "apply", "--case", order["case_id"])
    assert kept.returncode == 1 and "disclosure order still unanswered" in kept.stdout
