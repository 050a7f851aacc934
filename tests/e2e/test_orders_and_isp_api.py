"""Preservation orders and the ISP API over HTTP (embedded): every provider action, the
provider's isolation, Art 30, extension and release, MLA and the Art 29(7) hold."""

from __future__ import annotations

from datetime import datetime, timedelta

from slice_driver import events_of, issued_order, wait_for

ISP_ACTIONS = {
    "acknowledge": None,
    "preserved": {"note": "logs copied to a sealed store", "records": 42},
    "unavailable": {"reason": "logs older than 7 days are gone"},
    "foreign-provider": {
        "country": "DE",
        "provider_name": "Beispiel Hosting GmbH",
        "details": "NAT gateway forwards to 192.0.2.10 at Beispiel",
    },
}


def test_another_provider_gets_404_on_every_endpoint(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "ISO-1")
    base = f"/api/v1/isp/orders/{order['order_id']}"
    assert api.call("GET", base, tokens["isp_b"])[0] == 404
    assert api.call("GET", f"{base}/document", tokens["isp_b"])[0] == 404
    for action, body in ISP_ACTIONS.items():
        for probe in (body, {}):
            status, answer = api.call("POST", f"{base}/{action}", tokens["isp_b"], probe)
            assert status == 404, (action, answer)
    assert api.call("GET", base, tokens["isp_a"])[0] == 200


def test_provider_actions_are_idempotent_and_reach_the_order(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "IDEM-1")
    base = f"/api/v1/isp/orders/{order['order_id']}"
    for action in ("acknowledge", "preserved"):
        first = api.call("POST", f"{base}/{action}", tokens["isp_a"], ISP_ACTIONS[action])
        assert first[0] == 200, first
        for _ in range(3):
            assert (
                api.call("POST", f"{base}/{action}", tokens["isp_a"], ISP_ACTIONS[action]) == first
            )
    status, body = api.call(
        "POST", f"{base}/unavailable", tokens["isp_a"], ISP_ACTIONS["unavailable"]
    )
    assert status == 409, body  # preserved already

    def recorded() -> dict | None:
        _, cp_view = api.call(
            "GET", f"/api/v1/preservation-orders/{order['order_id']}", tokens["police"]
        )
        return cp_view if cp_view["status"] == "preserved" else None

    cp_view = wait_for(recorded, what="preservation to record the outcome")
    assert cp_view["outcome"]["records"] == 42 and cp_view["delivered_at"]
    events = wait_for(
        lambda: (e := events_of(api, tokens, order["case_id"])) and "DataPreserved" in e and e,
        what="the outcome on the timeline",
    )
    assert events.count("DataPreserved") == 1 and events.count("ProviderAcknowledgedOrder") == 1


def test_unavailable_needs_a_reason_and_is_accepted_from_issued(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "UNAV-1")
    path = f"/api/v1/isp/orders/{order['order_id']}/unavailable"
    status, body = api.call("POST", path, tokens["isp_a"], {"reason": ""})
    assert status == 422 and "reason" in body["fields"]
    status, body = api.call("POST", path, tokens["isp_a"], ISP_ACTIONS["unavailable"])
    assert status == 200 and body["status"] == "unavailable"
    assert api.call("POST", path, tokens["isp_a"], ISP_ACTIONS["unavailable"]) == (status, body)


def test_foreign_provider_report_waits_as_a_pending_art30_disclosure(embedded, tokens):
    api, _, platform = embedded
    order = issued_order(api, tokens, "ART30-1")
    path = f"/api/v1/isp/orders/{order['order_id']}/foreign-provider"
    status, body = api.call("POST", path, tokens["isp_a"], {"country": "Germany"})
    assert status == 422 and {"country", "provider_name"} <= set(body["fields"])
    first = api.call("POST", path, tokens["isp_a"], ISP_ACTIONS["foreign-provider"])
    assert first[0] == 200 and first[1]["foreign_providers"][0]["country"] == "DE"
    assert api.call("POST", path, tokens["isp_a"], ISP_ACTIONS["foreign-provider"]) == first

    def pending() -> bool:
        events = events_of(api, tokens, order["case_id"])
        return "ForeignProviderReported" in events and "Art30DisclosurePending" in events

    wait_for(pending, what="the Art 30 disclosure pending on the timeline")
    platform.deliver()
    # nothing left for the requesting CP by itself (Art 30(2): a prosecutor decides)
    assert "RequesterNotified" not in events_of(api, tokens, order["case_id"])
    _, case = api.call("GET", f"/api/v1/cases/{order['case_id']}", tokens["police"])
    assert [d["status"] for d in case["disclosures"]] == ["pending"]


def test_extension_and_release_reach_the_provider(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "EXT-1")
    cp = f"/api/v1/preservation-orders/{order['order_id']}"
    status, body = api.call("POST", f"{cp}/extend", tokens["prosecution"], {"days": 30})
    assert status == 200 and body["status"] == "extended", body
    assert api.call("POST", f"{cp}/extend", tokens["prosecution"], {"days": 3650})[0] == 422
    assert api.call("POST", f"{cp}/extend", tokens["prosecution"], {"days": "x"})[0] == 422
    assert api.call("POST", f"{cp}/extend", tokens["police"], {"days": 5})[0] == 403

    def isp_sees(field: str, value: str) -> bool:
        _, seen = api.call("GET", f"/api/v1/isp/orders/{order['order_id']}", tokens["isp_a"])
        return seen[field] == value

    wait_for(lambda: isp_sees("expires_at", body["expires_at"]), what="the new expiry")
    status, released = api.call("POST", f"{cp}/release", tokens["prosecution"], {"reason": "done"})
    assert status == 200 and released["status"] == "released"
    assert api.call("POST", f"{cp}/release", tokens["prosecution"], {"reason": "again"})[0] == 409
    wait_for(lambda: isp_sees("status", "released"), what="the provider to see the release")
    status, _ = api.call(
        "POST", f"/api/v1/isp/orders/{order['order_id']}/preserved", tokens["isp_a"], {}
    )
    assert status == 409


def test_mla_received_holds_the_order_past_its_expiry_until_decided(embedded, tokens):
    api, _, platform = embedded
    order = issued_order(api, tokens, "MLA-1")
    status, mla = api.call(
        "POST",
        f"/api/v1/cases/{order['case_id']}/mla",
        tokens["prosecution"],
        {"direction": "incoming", "reference": "US-MLA-9", "stage": "pre_trial",
         "date": "2026-12-01"},
    )  # fmt: skip
    assert status == 201 and mla["status"] == "received", mla
    assert mla["authority"] == "Prosecutor General's Office"  # routed by stage
    # Linked at once, or as soon as the MLA service learns of the order (it may be behind).
    wait_for(
        lambda: (
            order["order_id"]
            in api.call("GET", f"/api/v1/mla/{mla['mla_id']}", tokens["police"])[1]["order_ids"]
        ),
        what="the order linked to the MLA request",
    )
    cp = f"/api/v1/preservation-orders/{order['order_id']}"

    def held() -> bool:
        return api.call("GET", cp, tokens["police"])[1]["held_for_mla"] == [mla["mla_id"]]

    wait_for(held, what="the Art 29(7) hold")
    expiry = datetime.fromisoformat(order["expires_at"].replace("Z", "+00:00"))
    preservation = platform.apps["preservation"]
    assert preservation.expire_due(expiry + timedelta(days=30)) == []  # held
    status, body = api.call(
        "POST", f"/api/v1/mla/{mla['mla_id']}/status", tokens["prosecution"],
        {"status": "produced", "note": "data handed over"},
    )  # fmt: skip
    assert status == 200 and body["status"] == "produced"
    bad = api.call("POST", f"/api/v1/mla/{mla['mla_id']}/status", tokens["prosecution"],
                   {"status": "executing"})  # fmt: skip
    assert bad[0] == 409
    wait_for(lambda: not api.call("GET", cp, tokens["police"])[1]["held_for_mla"], what="lift")
    assert preservation.expire_due(expiry + timedelta(days=30)) == [order["order_id"]]
    status, view = api.call("GET", cp, tokens["police"])
    assert view["status"] == "expired" and view["mla"][0]["mla_id"] == mla["mla_id"]
    wait_for(
        lambda: "OrderExpired" in events_of(api, tokens, order["case_id"]), what="expiry entry"
    )
