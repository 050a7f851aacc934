"""MLA with depth (issue 20, item 7), over HTTP, embedded: an MLA record says its kind
(Arts 31, 33, 34), the judicial authorisation it is executed under, and what was produced;
intake's mla_* requests make their record or join the one an officer made, never a second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slice_driver import issued_disclosure_order, preservation_request, produced_file, wait_for

AUTHORISATION = {"authority": "Bucharest Tribunal, 2nd criminal section", "date": "2026-12-01",
                 "reference": "Decision 1234/2026"}  # fmt: skip


def mla_request(reference: str, kind: str = "mla_stored_data", **overrides) -> dict:
    body = preservation_request(reference, type=kind, **overrides)
    body["offence"]["provisions"] = "Criminal Code s. 360"
    body["responsible_authority"] = {"name": "Prosecutor General's Office"}
    body["data"]["types"] = ["content"] if kind == "mla_interception" else ["traffic"]
    return body


def mla_of(api, tokens, case_id: str) -> list[dict]:
    status, body = api.call("GET", f"/api/v1/cases/{case_id}/mla", tokens["police"])
    assert status == 200, body
    return body["mla"]


def test_art33_34_an_interception_is_executed_only_under_a_judicial_authorisation(embedded, tokens):
    api, _, _ = embedded
    _, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("MLA-K1")
    )
    path = f"/api/v1/cases/{created['case_id']}/mla"
    status, body = api.call("POST", path, tokens["prosecution"],
                            {"direction": "incoming", "kind": "wiretap"})  # fmt: skip
    assert status == 422 and "kind" in body["fields"], body
    wanted = {"direction": "incoming", "kind": "interception", "reference": "M-1"}
    status, mla = api.call("POST", path, tokens["prosecution"], wanted)
    assert status == 201 and mla["kind"] == "interception" and mla["article"] == "Art 34", mla
    status_path = f"/api/v1/mla/{mla['mla_id']}/status"
    status, body = api.call("POST", status_path, tokens["prosecution"], {"status": "executing"})
    assert status == 409 and "authorisation" in body["message"], body

    authorise = f"/api/v1/mla/{mla['mla_id']}/authorisation"
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    for bad, field in (({**AUTHORISATION, "date": tomorrow}, "date"),
                       ({**AUTHORISATION, "date": "2026-02-30"}, "date"),
                       ({**AUTHORISATION, "authority": " "}, "authority")):  # fmt: skip
        status, body = api.call("POST", authorise, tokens["prosecution"], bad)
        assert status == 422 and field in body["fields"], (bad, body)
    status, authorised = api.call("POST", authorise, tokens["prosecution"], AUTHORISATION)
    assert status == 200 and authorised["authorisation"] == AUTHORISATION, authorised
    status, executing = api.call(
        "POST", status_path, tokens["prosecution"], {"status": "executing"}
    )
    assert status == 200 and executing["status"] == "executing", executing

    def on_timeline() -> bool:
        _, timeline = api.call(
            "GET", f"/api/v1/cases/{created['case_id']}/timeline", tokens["police"]
        )
        summaries = [e["summary"] for e in timeline["entries"]]
        return any("Art 34" in s for s in summaries) and any(
            "Decision 1234" in s for s in summaries
        )

    wait_for(on_timeline, what="the kind and the authorisation on the timeline")


def test_an_mla_request_produced_links_the_productions_of_its_case(embedded, tokens):
    api, _, _ = embedded
    order = issued_disclosure_order(api, tokens, "MLA-P1")
    content = b"mailbox export\n"
    file = produced_file(content, "mailbox.txt", media_type="text/plain")
    status, produced = api.call(
        "POST", f"/api/v1/isp/orders/{order['order_id']}/produce", tokens["isp_a"],
        {"files": [file]},
    )  # fmt: skip
    assert status == 201, produced
    status, mla = api.call("POST", f"/api/v1/cases/{order['case_id']}/mla", tokens["prosecution"],
                           {"direction": "incoming"})  # fmt: skip
    assert status == 201 and mla["kind"] == "stored_data" and mla["article"] == "Art 31", mla
    status_path = f"/api/v1/mla/{mla['mla_id']}/status"
    status, body = api.call("POST", status_path, tokens["prosecution"],
                            {"status": "produced", "production_ids": ["nope"]})  # fmt: skip
    assert status == 422 and "production_ids" in body["fields"], body
    status, done = api.call(
        "POST", status_path, tokens["prosecution"],
        {"status": "produced", "production_ids": [produced["production_id"]]},
    )  # fmt: skip
    assert status == 200 and done["production_ids"] == [produced["production_id"]], done


def test_an_mla_request_registered_by_intake_has_one_mla_record(embedded, tokens):
    api, _, _ = embedded
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"],
        mla_request("MLA-I1", "mla_realtime_traffic"),
    )  # fmt: skip
    assert status == 201, created
    [record] = wait_for(
        lambda: mla_of(api, tokens, created["case_id"]), what="the MLA record made by intake"
    )
    assert record["request_id"] == created["request_id"] and record["kind"] == "realtime_traffic"
    assert record["direction"] == "incoming" and record["reference"] == "MLA-I1"
    assert record["article"] == "Art 33" and record["status"] == "received"
    # recorded again by hand for that request: the same record, now with its authorisation
    status, again = api.call(
        "POST", f"/api/v1/cases/{created['case_id']}/mla", tokens["prosecution"],
        {"direction": "incoming", "kind": "realtime_traffic", "request_id": created["request_id"],
         "authorisation": AUTHORISATION},
    )  # fmt: skip
    assert status == 201 and again["mla_id"] == record["mla_id"], again
    assert again["authorisation"] == AUTHORISATION
    assert len(mla_of(api, tokens, created["case_id"])) == 1


def test_an_mla_recorded_by_hand_is_linked_to_its_request_when_intake_registers_it(
    embedded, tokens
):
    api, _, _ = embedded
    _, first = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("MLA-L1")
    )
    status, by_hand = api.call(
        "POST", f"/api/v1/cases/{first['case_id']}/mla", tokens["prosecution"],
        {"direction": "incoming", "reference": "US-MLA-77"},
    )  # fmt: skip
    assert status == 201 and by_hand["request_id"] is None, by_hand
    # the formal request about the same data, typed in later, joins the same case
    formal = mla_request("MLA-L1-FORMAL")
    formal["data"]["identifiers"] = preservation_request("MLA-L1")["data"]["identifiers"]
    status, formal = api.call("POST", "/api/v1/requests", tokens["prosecution"], formal)
    assert status in (200, 201) and formal["case_id"] == first["case_id"], formal
    linked = wait_for(
        lambda: [m for m in mla_of(api, tokens, first["case_id"]) if m["request_id"]],
        what="the hand-made record linked to the request",
    )
    assert [m["mla_id"] for m in linked] == [by_hand["mla_id"]]
    assert len(mla_of(api, tokens, first["case_id"])) == 1
