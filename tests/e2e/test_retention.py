"""Crypto-shredding: `cp247 retention apply` destroys a case's key; its personal data are gone
from every service, while its timeline and the audit hash chain still verify."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from slice_driver import run_slice, wait_for

from cp247 import casekeys
from cp247.clock import utcnow
from cp247.retention import apply_retention
from cp247.samples import address_for

FACTS = "the suspect SHRED-FACTS-7 wrote from a café"


@pytest.fixture(autouse=True)
def no_key_cache(monkeypatch):
    # The CLI destroys the key in another process; the server must not keep using its copy.
    monkeypatch.setattr(casekeys, "CACHE_SECONDS", 0.0)


def _release(api, tokens, order_id: str) -> None:
    path = f"/api/v1/preservation-orders/{order_id}"
    status, body = api.call("POST", f"{path}/release", tokens["prosecution"], {"reason": "done"})
    assert status == 200, body
    wait_for(
        lambda: api.call("GET", path, tokens["police"])[1]["closed"] is not None,
        what="the order closed",
    )


def test_erased_case_keeps_its_timeline_and_verifiable_chain(embedded, tokens):
    api, cli, platform = embedded
    result = run_slice(api, tokens, "SHRED-1")
    case_id, request_id = result["case_id"], result["request_id"]
    order_id = result["order"]["order_id"]
    ip = address_for("SHRED-1")
    status, request = api.call("GET", f"/api/v1/requests/{request_id}", tokens["police"])
    assert status == 200 and ip in json.dumps(request)

    # A running order keeps the case: preservation would lose what it describes.
    refused = cli.run("retention", "apply", "--case", case_id)
    assert refused.returncode == 1 and "still running" in refused.stdout
    _release(api, tokens, order_id)
    platform.deliver()
    before = api.call("GET", f"/api/v1/cases/{case_id}/timeline", tokens["police"])[1]

    erased = json.loads(cli.ok("retention", "apply", "--case", case_id))
    assert [e["case_id"] for e in erased["erased"]] == [case_id]

    # Intake, preservation and the provider's inbox read the case's personal fields as erased.
    status, request = api.call("GET", f"/api/v1/requests/{request_id}", tokens["police"])
    assert status == 200 and ip not in json.dumps(request)
    status, order = api.call("GET", f"/api/v1/preservation-orders/{order_id}", tokens["police"])
    assert status == 200 and order["identifiers"] == [] and order["status"] == "released"
    status, isp_order = api.call("GET", f"/api/v1/isp/orders/{order_id}", tokens["isp_a"])
    assert status == 200 and ip not in json.dumps(isp_order)
    status, document = api.call("GET", f"/api/v1/isp/orders/{order_id}/document", tokens["isp_a"])
    assert status == 410 and document["error"] == "erased", document

    # The timeline keeps every entry and hash; the audit still verifies.
    status, after = api.call("GET", f"/api/v1/cases/{case_id}/timeline", tokens["police"])
    assert status == 200 and after["personal_data_erased"]["because"]
    assert after["entries"][: len(before["entries"])] == before["entries"]
    report = json.loads(cli.ok("audit", "verify"))
    assert report["ok"] is True, report

    # Nothing personal is left readable in any store, even to a holder of the event key.
    for app in platform.apps.values():
        for stored in app.recorder.select_notifications(start=1, limit=10_000):
            plain = app.mapper.cipher.decrypt(stored.state)
            assert ip.encode() not in app.mapper.compressor.decompress(plain), app.name

    again = cli.run("retention", "apply", "--case", case_id)
    assert again.returncode == 1 and "already erased" in again.stdout


def test_only_cases_at_rest_past_the_period_are_erased(embedded, tokens):
    api, _, platform = embedded
    resting = run_slice(api, tokens, "SHRED-OLD")
    running = run_slice(api, tokens, "SHRED-RUN")
    _release(api, tokens, resting["order"]["order_id"])
    platform.deliver()
    settings = platform.settings

    now = apply_retention(settings, days=30, dry_run=True)
    assert now["erased"] == [] and now["kept"] == []  # both active today
    later = utcnow() + timedelta(days=31)
    preview = apply_retention(settings, days=30, dry_run=True, now=later)
    assert [e["case_id"] for e in preview["erased"]] == [resting["case_id"]]
    assert not casekeys.deployment_vault(settings).shredded(
        resting["case_id"]
    )  # a dry run changes nothing
    done = apply_retention(settings, days=30, now=later)
    assert [e["case_id"] for e in done["erased"]] == [resting["case_id"]]
    assert [k["case_id"] for k in done["kept"]] == [running["case_id"]]
    assert "still running" in done["kept"][0]["reason"]
    assert casekeys.deployment_vault(settings).shredded(resting["case_id"])
    status, request = api.call("GET", f"/api/v1/requests/{running['request_id']}", tokens["police"])
    assert status == 200 and address_for("SHRED-RUN") in json.dumps(request)
