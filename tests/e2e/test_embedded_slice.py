"""The walking-skeleton slice over HTTP, embedded mode (one process, SQLite, no broker).

The first test makes its users, providers and tokens with the CLI, as an operator does; the
others take them in-process (the ``tokens`` fixture): a CLI start is a second or two each."""

from __future__ import annotations

from slice_driver import (
    assert_bad_input_is_refused,
    identities,
    preservation_request,
    run_slice,
    wait_for,
)


def test_preservation_request_flows_to_provider_and_one_timeline(embedded):
    api, cli, _ = embedded
    tokens = identities(cli)
    result = run_slice(api, tokens, "US-2026-0001")
    events = [e["event"] for e in result["timeline"]["entries"]]
    assert events.index("RequestReceived") < events.index("OrderIssued")
    assert events.index("OrderIssued") < events.index("OrderDelivered")


def test_bad_input_never_gives_a_server_error(embedded, tokens):
    api, _, _ = embedded
    assert_bad_input_is_refused(api, tokens)


def test_same_request_from_the_other_cp_joins_the_first_case(embedded, tokens):
    api, _, _ = embedded
    status, first = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("US-77")
    )
    assert status == 201
    status, again = api.call(
        "POST", "/api/v1/requests", tokens["police"], preservation_request("us-77 ")
    )
    assert status == 200, again
    assert again["duplicate_of"] == first["request_id"]
    assert again["case_id"] == first["case_id"]
    status, cases = api.call("GET", "/api/v1/cases", tokens["police"])
    assert [c["case_id"] for c in cases["cases"]] == [first["case_id"]]


def test_police_order_waits_for_prosecutor_approval(embedded, tokens):
    api, _, _ = embedded
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["police"], preservation_request("US-POL-1")
    )
    assert status == 201
    case_id = created["case_id"]

    def drafted() -> dict | None:
        status, case = api.call("GET", f"/api/v1/cases/{case_id}", tokens["police"])
        return case["preservation_orders"][0] if case["preservation_orders"] else None

    order = wait_for(drafted, what="the drafted order")
    assert order["status"] == "awaiting_approval"
    status, inbox = api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])
    assert inbox["orders"] == []  # nothing reaches the provider before approval

    approve = f"/api/v1/preservation-orders/{order['order_id']}/approve"
    status, body = api.call("POST", approve, tokens["police"])
    assert status == 403, body
    status, body = api.call("POST", approve, tokens["prosecution"])
    assert status == 200 and body["status"] == "issued", body
    status, body = api.call("POST", approve, tokens["prosecution"])
    assert status == 409, body
    wait_for(
        lambda: api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])[1]["orders"],
        what="the approved order in the inbox",
    )


def test_officer_orders_preservation_for_a_listed_provider_only(embedded, tokens):
    api, _, _ = embedded
    status, created = api.call(
        "POST",
        "/api/v1/requests",
        tokens["prosecution"],
        preservation_request("US-9", provider_id="not-listed"),
    )
    assert status == 201
    path = f"/api/v1/cases/{created['case_id']}/preservation-orders"
    status, body = api.call("POST", path, tokens["prosecution"], {"provider_id": "nobody"})
    assert status == 422 and "provider_id" in body["fields"], body
    status, body = api.call(
        "POST", path, tokens["prosecution"], {"provider_id": "telco-b", "period_days": 30}
    )
    assert status == 422 and "Art 29(7)" in body["fields"]["period_days"][0], body
    status, body = api.call(
        "POST", path, tokens["prosecution"], {"provider_id": "telco-b", "period_days": 60}
    )
    assert status == 201 and body["status"] == "issued", body
    assert body["period_days"] == 60  # never below Art 29(7)'s sixty days
    status, body = api.call(
        "POST",
        "/api/v1/cases/00000000-0000-0000-0000-000000000000/preservation-orders",
        tokens["prosecution"],
        {"provider_id": "telco-b"},
    )
    assert status == 404, body


def test_revoked_token_is_refused(embedded, tokens):
    api, cli, _ = embedded  # revoking is an operator step: the CLI
    assert api.call("GET", "/api/v1/cases", tokens["police"])[0] == 200
    cli.ok("tokens", "revoke", tokens["police"])
    status, body = api.call("GET", "/api/v1/cases", tokens["police"])
    assert status == 401, body


def test_health_and_openapi_need_no_token_metrics_the_scrape_token(embedded, monkeypatch):
    api, _, _ = embedded
    monkeypatch.setenv("CP247_METRICS_TOKEN", "scrape-token")
    assert api.call("GET", "/healthz") == (200, {"status": "ok"})
    status, ready = api.call("GET", "/readyz")
    assert status == 200 and all(ready["checks"].values())
    status, spec = api.call("GET", "/api/v1/openapi.json")
    assert status == 200 and "/api/v1/requests" in spec["paths"]
    assert "Request" in spec["components"]["schemas"]
    status, text = api.call("GET", "/metrics", "scrape-token")
    assert status == 200 and "cp247_http_requests_total" in text
    status, body = api.call("GET", "/api/v1/nowhere")
    assert status == 404 and body["error"] == "not_found"
