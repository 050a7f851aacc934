"""GET /api/v1/stats: the figures oversight reports, never case content."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from embedded_runner import running_embedded
from slice_driver import PASSWORD, exchange, preservation_request, wait_for
from smtp_sink import serving

YEAR = datetime.now().year


@pytest.fixture
def smtp_server() -> Iterator[tuple]:
    with serving() as (mailbox, port):
        yield mailbox, port


def people(platform) -> dict[str, str]:
    identity = platform.apps["gateway"]
    platform.apps["isp_liaison"].register_provider("telco-a", "Telco A", "RO")
    for username, role in (("pat", "prosecution"), ("poe", "police"), ("ovi", "oversight")):
        identity.add_user(username, role, PASSWORD)
    return {name: identity.issue_token(username=name) for name in ("pat", "poe", "ovi")}


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
    # E-mail is off here: the receipts wait in the inbox, never delivered, so not acknowledged.
    assert medians["receipt_to_acknowledgement"] is None
    assert report["preservations"]["windows_closed"] == 2  # one followed by MLA, one expired
    assert medians["receipt_to_order_issued"] is not None
    assert medians["order_issued_to_provider_acknowledgement"] is not None
    text = str(report)
    for secret in (first["case_id"], one["order_id"], "2001:db8", "ST-1", "US 24/7"):
        assert secret not in text
    _, empty = api.call("GET", "/api/v1/stats?year=1999", oversight)
    assert empty["requests"]["received"]["total"] == 0 and empty["median_seconds"][
        "receipt_to_acknowledgement"] is None  # fmt: skip


def test_figures_count_what_happened_decisions_and_our_requests_abroad(
    smtp_server, monkeypatch, tmp_path
):
    """Received when it arrived, acknowledged when the receipt was delivered; refusals by
    ground, Art 29(6) notices, withdrawals, emergencies, duplicates, Art 29 apart from Art 30,
    and our own requests' answer times (issue 18)."""
    mailbox, port = smtp_server
    for name, value in (("HOST", "127.0.0.1"), ("PORT", str(port)), ("FROM", "cp@cp.example")):
        monkeypatch.setenv(f"CP247_SMTP_{name}", value)
    with running_embedded(tmp_path / "data") as (api, _, platform):
        tokens = people(platform)
        arrived = datetime.now(UTC) - timedelta(hours=1)  # a fax typed in an hour late
        late = preservation_request("FIG-1")
        late["received_at"] = arrived.isoformat()
        status, first = api.call("POST", "/api/v1/requests", tokens["pat"], late)
        assert status == 201, first
        for bad in ("2026-11-27 09:14", (datetime.now(UTC) + timedelta(hours=2)).isoformat()):
            refused = {**preservation_request("FIG-BAD"), "received_at": bad}
            status, answer = api.call("POST", "/api/v1/requests", tokens["pat"], refused)
            assert status == 422 and "received_at" in answer["fields"], answer
        assert api.call("POST", "/api/v1/requests", tokens["pat"], late)[0] == 200  # again

        def stats() -> dict:
            platform.deliver()
            return api.call("GET", f"/api/v1/stats?year={YEAR}", tokens["ovi"])[1]

        # Arrived an hour before it was registered, acknowledged when the mail went out.
        acknowledged = wait_for(
            lambda: stats()["median_seconds"]["receipt_to_acknowledgement"],
            what="the receipt delivered",
        )
        assert 3600 - 60 <= acknowledged <= 3600 + 60
        emergency = preservation_request(
            "FIG-2", urgency="emergency", emergency={"risk": "harm tonight"}
        )
        _, refused_one = api.call("POST", "/api/v1/requests", tokens["pat"], emergency)
        api.call("POST", f"/api/v1/requests/{refused_one['request_id']}/refuse", tokens["pat"],
                 {"grounds": ["security", "sovereignty"], "explanation": "x"})  # fmt: skip
        traffic = preservation_request("FIG-3")
        traffic["type"] = "traffic_disclosure"
        _, third = api.call("POST", "/api/v1/requests", tokens["pat"], traffic)
        assert third.get("request_id"), third
        api.call("POST", f"/api/v1/requests/{third['request_id']}/withdraw", tokens["pat"],
                 {"reason": "no longer needed"})  # fmt: skip
        ours = preservation_request("FIG-4", direction="outgoing", counterpart_country="DE")
        _, sent = api.call("POST", "/api/v1/requests", tokens["poe"], ours)
        sent_at = datetime.now(UTC) - timedelta(hours=3)
        path = f"/api/v1/requests/{sent['request_id']}"
        assert api.call("POST", f"{path}/sent", tokens["poe"],
                        {"channel": "email", "at": sent_at.isoformat()})[0] == 200  # fmt: skip
        assert api.call("POST", f"{path}/foreign-receipt", tokens["poe"],
                        {"reference": "DE-1", "at": (sent_at + timedelta(hours=1)).isoformat()}
                        )[0] == 200  # fmt: skip

        seen: list[dict] = []

        def figures() -> dict | None:
            report = stats()
            seen[:] = [report]
            # every figure asserted below is counted by its own event: wait for all of them
            done = (
                report["decisions"]["withdrawn"] == 1
                and report["median_seconds"]["sent_to_foreign_receipt"] is not None
                and report["duplicates"]["exact"] == 1
            )
            return report if done else None

        try:
            report = wait_for(figures, timeout=60, what="the figures of what happened")
        except AssertionError as missing:  # say which figure never came (a CI run saw one)
            raise AssertionError(f"{missing}; the last figures: {seen}") from None
        assert report["decisions"] == {
            "refused": 1, "refusal_grounds": {"security": 1, "sovereignty": 1},
            "art29_6_notices": 0, "art29_6_reasons": {}, "withdrawn": 1,
        }  # fmt: skip
        assert report["emergencies"] == {"received": 1, "sent": 0}
        assert report["duplicates"]["exact"] == 1
        assert report["by_article"]["received"] == {"art29": 2, "art30": 1}
        assert report["by_article"]["sent"] == {"art29": 1, "art30": 0}
        assert 3600 - 60 <= report["median_seconds"]["sent_to_foreign_receipt"] <= 3600 + 60
        assert report["median_seconds"]["sent_to_foreign_answer"] is None  # no answer yet
        for secret in (first["case_id"], "FIG-1", "2001:db8"):
            assert secret not in str(report)


def test_figures_of_any_run_of_months(embedded, tokens):
    api, _, platform = embedded
    oversight = tokens["admin"]  # oversight's figures are admins' too
    for reference in ("PERIOD-1", "PERIOD-2"):
        api.call("POST", "/api/v1/requests", tokens["prosecution"], preservation_request(reference))
    month = datetime.now(UTC).strftime("%Y-%m")

    def counted() -> dict | None:
        platform.deliver()
        _, report = api.call("GET", f"/api/v1/stats?from={month}&to={month}", oversight)
        return report if report["requests"]["received"]["total"] == 2 else None

    report = wait_for(counted, what="this month's figures")
    year = api.call("GET", f"/api/v1/stats?year={YEAR}", oversight)[1]
    assert report["period"] == {"from": month, "to": month} and report["year"] == YEAR
    assert report["requests"] == year["requests"] and report["by_article"] == year["by_article"]
    _, earlier = api.call("GET", "/api/v1/stats?from=2020-01&to=2021-12", oversight)
    assert earlier["requests"]["received"]["total"] == 0 and earlier["year"] is None
    assert api.call("GET", f"/api/v1/stats?from={month}", oversight)[1]["period"]["to"] == month
    arabic = "%D9%A2%D9%A0%D9%A2%D9%A6"  # the year in Arabic-Indic digits
    for wrong in ("from=2026-13&to=2026-12", "from=2026-06&to=2026-01", "to=2026-01",
                  "from=2001-01&to=2026-01", f"from={arabic}-01&to=2026-02"):  # fmt: skip
        status, answer = api.call("GET", f"/api/v1/stats?{wrong}", oversight)
        assert status == 422, (wrong, answer)
    # The oversight page and its exports take the same period.
    cookie = {"Cookie": f"cp247_session={oversight}"}
    status, _, page = exchange(api.base_url, "GET", f"/oversight?from={month}&to={month}", None,
                               cookie)  # fmt: skip
    assert status == 200 and f"figures for {month} to {month}" in page, page[:300]
    status, _, csv_text = exchange(
        api.base_url, "GET", f"/oversight/export.csv?from={month}&to={month}", None, cookie
    )
    assert status == 200 and f"{month} to {month},requests received,total,2" in csv_text
