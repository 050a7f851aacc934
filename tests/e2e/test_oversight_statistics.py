"""GET /api/v1/stats: the figures oversight reports, never case content."""

from __future__ import annotations

from datetime import datetime, timedelta

from slice_driver import preservation_request, wait_for

YEAR = datetime.now().year


def test_statistics_count_time_and_follow_up_without_case_content(embedded, tokens):
    api, cli, platform = embedded
    cli.ok(
        "users", "add", "--username", "ovi", "--role", "oversight", "--password", "s3cret-enough-pw"
    )
    oversight = cli.ok("tokens", "issue", "--username", "ovi")
    assert api.call("GET", "/api/v1/stats", tokens["police"])[0] == 403
    assert api.call("GET", "/api/v1/stats?year=last", oversight)[0] == 422

    _, first = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("ST-1")
    )
    _, second = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("ST-2")
    )
    outgoing = preservation_request("ST-3", direction="outgoing", counterpart_country="DE")
    outgoing["type"] = "mla_stored_data"
    outgoing["offence"]["provisions"] = "s. 1"
    outgoing["responsible_authority"] = {"name": "Prosecutor General"}
    assert api.call("POST", "/api/v1/requests", tokens["police"], outgoing)[0] == 201

    def orders() -> list[dict] | None:
        _, inbox = api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])
        return inbox["orders"] if len(inbox["orders"]) == 2 else None

    issued = wait_for(orders, what="both orders in the inbox")
    by_case = {order["case_id"]: order for order in issued}
    one, two = by_case[first["case_id"]], by_case[second["case_id"]]
    api.call("POST", f"/api/v1/isp/orders/{one['order_id']}/acknowledge", tokens["isp_a"])
    status, mla = api.call("POST", f"/api/v1/cases/{first['case_id']}/mla", tokens["prosecution"],
                           {"direction": "incoming", "stage": "pre_trial"})  # fmt: skip
    assert status == 201
    held = f"/api/v1/preservation-orders/{one['order_id']}"
    wait_for(lambda: api.call("GET", held, tokens["police"])[1]["held_for_mla"], what="hold")
    expiry = datetime.fromisoformat(two["expires_at"].replace("Z", "+00:00"))

    def figures() -> dict | None:
        platform.apps["preservation"].expire_due(expiry + timedelta(seconds=1))
        _, report = api.call("GET", f"/api/v1/stats?year={YEAR}", oversight)
        done = report["preservations"]["expired_without_mla"] == 1 and report["preservations"][
            "followed_by_mla_in_time"] == 1  # fmt: skip
        return report if done else None

    report = wait_for(figures, what="the figures to settle")
    assert report["requests"]["received"] == {"preservation": 2, "mla": 0, "other": 0, "total": 2}
    assert report["requests"]["sent"]["mla"] == 1
    assert report["by_country"] == {"received": {"US": 2}, "sent": {"DE": 1}}
    assert report["preservations"]["issued"] == 2
    assert report["preservations"]["share_followed_by_mla_in_time"] == 0.5
    medians = report["median_seconds"]
    assert medians["mla_recorded_to_decision"] is None  # not decided yet
    api.call("POST", f"/api/v1/mla/{mla['mla_id']}/status", tokens["prosecution"],
             {"status": "produced"})  # fmt: skip
    wait_for(
        lambda: api.call("GET", f"/api/v1/stats?year={YEAR}", oversight)[1]["median_seconds"][
            "mla_recorded_to_decision"] is not None,
        what="the MLA duration",
    )  # fmt: skip
    assert medians["receipt_to_acknowledgement"] is not None
    assert medians["receipt_to_order_issued"] is not None
    assert medians["order_issued_to_provider_acknowledgement"] is not None
    text = str(report)
    for secret in (first["case_id"], one["order_id"], "2001:db8", "ST-1", "US 24/7"):
        assert secret not in text
    _, empty = api.call("GET", "/api/v1/stats?year=1999", oversight)
    assert empty["requests"]["received"]["total"] == 0 and empty["median_seconds"][
        "receipt_to_acknowledgement"] is None  # fmt: skip
