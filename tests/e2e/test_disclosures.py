"""What leaves for the requesting Party (API.md "Disclosure and production", issue 20, items
3 to 5), over HTTP, embedded: productions sent under conditions with their hashes, Art 30
reports decided by a prosecutor, nothing for a request refused, every step on the timeline."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from slice_driver import issued_disclosure_order, issued_order, produced_file, wait_for

LOGS = b"2026-11-28T03:14:05Z 198.51.100.7:40123 subscriber 4711 (J. Example)\n"
CONDITIONS = {
    "use_limited_to": "the investigation in the request, proceedings 41 Js 77/26",
    "confidential": True,
    "further_transfer": "forbidden",
    "handling_code": "TLP:AMBER",
}
REPORT = {"country": "DE", "provider_name": "B GmbH", "details": "AS3320, NAT pool 10.1/16"}


def timeline(api, tokens, case_id: str) -> list[dict]:
    return api.call("GET", f"/api/v1/cases/{case_id}/timeline", tokens["police"])[1]["entries"]


def messages(api, tokens, case_id: str, template: str) -> list[dict]:
    _, body = api.call("GET", f"/api/v1/cases/{case_id}/messages", tokens["police"])
    return [m for m in body["messages"] if m["template"] == template]


def disclosures(api, tokens, case_id: str) -> list[dict]:
    status, body = api.call("GET", f"/api/v1/cases/{case_id}/disclosures", tokens["police"])
    assert status == 200, body
    return body["disclosures"]


def produced(api, tokens, reference: str) -> tuple[dict, str]:
    """A subscriber identification answered by telco-a: (our disclosure order, the
    production id), once our order knows of the production."""
    order = issued_disclosure_order(api, tokens, reference)
    file = produced_file(LOGS)
    path = f"/api/v1/isp/orders/{order['order_id']}/produce"
    status, receipt = api.call("POST", path, tokens["isp_a"], {"files": [file]})
    assert status == 201, receipt
    ours = f"/api/v1/disclosure-orders/{order['order_id']}"
    order = wait_for(
        lambda: (o := api.call("GET", ours, tokens["police"])[1])["status"] == "produced" and o,
        what="the production known to our disclosure order",
    )
    return order, receipt["production_id"]


def refuse(api, tokens, request_id: str) -> None:
    """Art 29(5)(b): the prosecutor refuses the request."""
    refusal = {"grounds": ["security"], "explanation": "prejudice to an ongoing operation"}
    path = f"/api/v1/requests/{request_id}/refuse"
    assert api.call("POST", path, tokens["prosecution"], refusal)[0] == 200


def send(api, token: str, request_id: str, body: dict) -> tuple[int, dict]:
    return api.call("POST", f"/api/v1/requests/{request_id}/disclosures", token, body)


def test_art28_2_a_production_leaves_for_the_requesting_party_with_conditions_and_hashes(
    embedded, tokens
):
    api, _, platform = embedded
    order, production_id = produced(api, tokens, "DISC-1")
    case_id, request_id = order["case_id"], order["request_id"]
    digest = hashlib.sha256(LOGS).hexdigest()

    # chain of custody: the officer's download is on the timeline with the file's digest
    path = f"/api/v1/productions/{production_id}/files/subscriber.csv"
    assert api.call("GET", path, tokens["police"])[0] == 200
    read = wait_for(
        lambda: [e for e in timeline(api, tokens, case_id) if e["event"] == "ProductionFileRead"],
        what="the download on the timeline",
    )
    assert digest in read[0]["summary"] and "police" in read[0]["summary"]

    # only a prosecutor sends; conditions are required (Art 28(2), P2 Art 9(6))
    wanted = {"production_ids": [production_id], "conditions": CONDITIONS}
    assert send(api, tokens["police"], request_id, wanted)[0] == 403
    status, body = send(api, tokens["prosecution"], request_id, {"production_ids": [production_id]})
    assert status == 422 and "conditions" in body["fields"], body
    partial = {**wanted, "conditions": {"use_limited_to": "x-file", "confidential": True}}
    status, body = send(api, tokens["prosecution"], request_id, partial)
    assert status == 422 and "conditions.further_transfer" in body["fields"], body
    status, body = send(api, tokens["prosecution"], request_id, {**wanted, "production_ids": [
        "00000000-0000-4000-8000-000000000000"]})  # fmt: skip
    assert status == 422 and "production_ids.0" in body["fields"], body

    status, sent = send(api, tokens["prosecution"], request_id, wanted)
    assert status == 201 and sent["status"] == "sent" and sent["kind"] == "production", sent
    assert sent["files"][0]["sha256"] == digest and sent["conditions"] == CONDITIONS
    platform.deliver()
    heads = {name: platform.apps[name].outbox_head() for name in ("preservation", "notification")}
    assert send(api, tokens["prosecution"], request_id, wanted) == (201, sent)  # once
    platform.deliver()
    assert {name: platform.apps[name].outbox_head() for name in heads} == heads
    assert [d["disclosure_id"] for d in disclosures(api, tokens, case_id)] == [
        sent["disclosure_id"]
    ]

    # the requesting CP's message states the conditions and the digest; the timeline too
    message = wait_for(
        lambda: messages(api, tokens, case_id, "production_disclosure"),
        what="the message to the requesting CP",
    )[0]
    assert digest in message["body"] and CONDITIONS["use_limited_to"] in message["body"]
    assert "Further transfer:  forbidden" in message["body"]
    entry = next(e for e in timeline(api, tokens, case_id) if e["event"] == "DisclosureSent")
    assert digest in entry["summary"] and "further transfer: forbidden" in entry["summary"]


def test_refusal_blocks_transmission_of_a_production(embedded, tokens):
    api, _, _ = embedded
    order, production_id = produced(api, tokens, "DISC-2")
    refuse(api, tokens, order["request_id"])
    wanted = {"production_ids": [production_id], "conditions": CONDITIONS}
    status, body = send(api, tokens["prosecution"], order["request_id"], wanted)
    assert status == 409 and "refused" in body["message"], body
    assert disclosures(api, tokens, order["case_id"]) == []


def pending_art30(api, tokens, reference: str) -> tuple[dict, dict]:
    """A preservation order whose provider reports another State's provider in the chain:
    (the order, its pending Art 30 disclosure)."""
    order = issued_order(api, tokens, reference)
    path = f"/api/v1/isp/orders/{order['order_id']}/foreign-provider"
    assert api.call("POST", path, tokens["isp_a"], REPORT)[0] == 200
    pending = wait_for(
        lambda: disclosures(api, tokens, order["case_id"]),
        what="the Art 30 disclosure pending",
    )[0]
    assert pending["kind"] == "art30" and pending["status"] == "pending", pending
    return order, pending


def test_art30_report_waits_for_a_prosecutor_and_leaves_as_approved(embedded, tokens):
    api, _, platform = embedded
    order, pending = pending_art30(api, tokens, "ART30-A")
    case_id = order["case_id"]
    _, work = api.call("GET", "/api/v1/work", tokens["prosecution"])
    assert pending["disclosure_id"] in [d["disclosure_id"] for d in work["pending_disclosures"]]
    # the duty prosecutor is told; nothing has left for the requesting CP
    wait_for(lambda: messages(api, tokens, case_id, "art30_decision"), what="the prosecutor told")
    platform.deliver()
    assert messages(api, tokens, case_id, "art30_disclosure") == []

    approve = f"/api/v1/disclosures/{pending['disclosure_id']}/approve"
    assert api.call("POST", approve, tokens["police"], {})[0] == 403
    status, body = api.call("POST", approve, tokens["prosecution"], {"country": "Germany"})
    assert status == 422 and "country" in body["fields"], body
    trimmed = {"path": "via AS3320"}
    status, sent = api.call("POST", approve, tokens["prosecution"], trimmed)
    assert status == 200 and sent["status"] == "sent", sent
    assert sent["content"] == {"country": "DE", "provider_name": "B GmbH", "path": "via AS3320"}
    assert api.call("POST", approve, tokens["prosecution"], trimmed)[0] == 409  # decided

    message = wait_for(
        lambda: messages(api, tokens, case_id, "art30_disclosure"),
        what="the Art 30 disclosure to the requesting CP",
    )[0]
    assert "via AS3320" in message["body"] and "NAT pool" not in message["body"]
    events = [e["event"] for e in timeline(api, tokens, case_id)]
    assert events.index("Art30DisclosurePending") < events.index("DisclosureSent")


def test_art30_2_a_report_is_withheld_only_on_its_grounds_and_nothing_leaves(embedded, tokens):
    api, _, platform = embedded
    order, pending = pending_art30(api, tokens, "ART30-W")
    withhold = f"/api/v1/disclosures/{pending['disclosure_id']}/withhold"
    assert api.call("POST", withhold, tokens["police"], {"grounds": ["security"]})[0] == 403
    for grounds in (["dual_criminality"], [], "not a ground", None):
        status, body = api.call("POST", withhold, tokens["prosecution"], {"grounds": grounds})
        assert status == 422 and "grounds" in body["fields"], (grounds, body)
    decision = {"grounds": "sovereignty", "explanation": "the path runs through our network"}
    status, withheld = api.call("POST", withhold, tokens["prosecution"], decision)
    assert status == 200 and withheld["status"] == "withheld", withheld
    assert withheld["grounds"]["grounds"] == ["sovereignty"]
    assert api.call("POST", withhold, tokens["prosecution"], decision) == (200, withheld)
    approve = f"/api/v1/disclosures/{pending['disclosure_id']}/approve"
    assert api.call("POST", approve, tokens["prosecution"], {})[0] == 409
    case_id = order["case_id"]
    wait_for(
        lambda: "DisclosureWithheld" in [e["event"] for e in timeline(api, tokens, case_id)],
        what="the withholding on the timeline",
    )
    platform.deliver()
    assert messages(api, tokens, order["case_id"], "art30_disclosure") == []


def test_art29_5_refusal_withholds_a_pending_art30_disclosure(embedded, tokens):
    api, _, platform = embedded
    order, pending = pending_art30(api, tokens, "ART30-R")
    refuse(api, tokens, pending["request_id"])
    ended = wait_for(
        lambda: (d := disclosures(api, tokens, order["case_id"])[0])["status"] == "withheld" and d,
        what="the pending disclosure withheld with its request",
    )
    assert ended["grounds"]["grounds"] == ["request_refused"]
    approve = f"/api/v1/disclosures/{pending['disclosure_id']}/approve"
    assert api.call("POST", approve, tokens["prosecution"], {})[0] == 409
    platform.deliver()
    assert messages(api, tokens, order["case_id"], "art30_disclosure") == []


def test_a_production_exported_for_a_court_verifies_and_its_export_is_on_record(
    embedded, tokens, tmp_path
):
    api, cli, _ = embedded
    order, production_id = produced(api, tokens, "DISC-C")
    wait_for(
        lambda: "DataProduced" in [e["event"] for e in timeline(api, tokens, order["case_id"])],
        what="the production on the timeline",
    )
    path = f"/api/v1/productions/{production_id}/package"
    assert api.call("GET", path, tokens["isp_a"])[0] == 403
    status, package, headers = api.call_with_headers("GET", path, tokens["prosecution"])
    assert status == 200 and headers["Content-Type"] == "application/zip", package
    assert headers["X-Content-SHA256"] == hashlib.sha256(package).hexdigest()
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        assert archive.read("files/subscriber.csv") == LOGS
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["files"][0]["sha256"] == hashlib.sha256(LOGS).hexdigest()
    assert "DataProduced" in [e["event"] for e in manifest["timeline"]["entries"]]

    (tmp_path / "package.zip").write_bytes(package)
    (tmp_path / "trusted.pem").write_text(cli.ok("documents", "public-key") + "\n")
    trusted = ["--trusted-keys", str(tmp_path / "trusted.pem")]
    assert cli.ok("documents", "verify", str(tmp_path / "package.zip"), *trusted).startswith("OK")
    # a file changed after export is found out
    with (
        zipfile.ZipFile(io.BytesIO(package)) as source,
        zipfile.ZipFile(tmp_path / "altered.zip", "w") as altered,
    ):
        for member in source.namelist():
            data = source.read(member)
            altered.writestr(member, data.replace(b"4711", b"4712") if "files/" in member else data)
    done = cli.run("documents", "verify", str(tmp_path / "altered.zip"), *trusted)
    assert done.returncode == 1 and "files/subscriber.csv" in done.stdout, done.stdout

    exported = wait_for(
        lambda: [
            e for e in timeline(api, tokens, order["case_id"]) if e["event"] == "ProductionExported"
        ],
        what="the export on the timeline",
    )
    assert headers["X-Content-SHA256"] in exported[0]["summary"]


def test_oversight_counts_identifications_and_times_them_to_production_and_transmission(
    embedded, tokens
):
    api, _, platform = embedded
    order, production_id = produced(api, tokens, "DISC-STATS")
    wanted = {"production_ids": [production_id], "conditions": CONDITIONS}
    assert send(api, tokens["prosecution"], order["request_id"], wanted)[0] == 201
    year = order["issued_at"][:4]

    def figures() -> dict | None:
        platform.deliver()
        report = api.call("GET", f"/api/v1/stats?year={year}", tokens["admin"])[1]
        return report if report["disclosure"]["sent_production"] else None

    report = wait_for(figures, what="the transmission counted")
    assert report["disclosure"]["identification_received"] == 1
    assert report["disclosure"]["productions"] == 1
    medians = report["median_seconds"]
    to_production = medians["identification_receipt_to_production"]
    to_transmission = medians["identification_receipt_to_transmission"]
    assert to_production is not None and to_transmission is not None
    assert 0 <= to_production <= to_transmission
    assert medians["emergency_receipt_to_production"] is None  # no emergency this year yet
    assert order["case_id"] not in str(report) and "subscriber.csv" not in str(report)
