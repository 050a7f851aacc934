"""Every decision takes effect (API.md "Case and request lifecycle"), over HTTP, embedded:
refusals and withdrawals release orders at the provider, Art 29(6) holds new orders back,
Art 29(7) keeps data while MLA is pending, periods follow Art 29(7) and Art 16(2), several
requesting Parties share one order, extensions extend it, outgoing requests have a life and
cases close."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from embedded_runner import running_embedded
from slice_driver import PASSWORD, events_of, issued_order, preservation_request, wait_for

from services.preservation.national_law import PROFILES


@pytest.fixture(params=["police-needs-approval", "cp-orders-directly"])
def profile(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both national profiles: Romania-like (police orders wait for a prosecutor) and
    Norway-like (both CPs order directly)."""
    monkeypatch.setenv("CP247_POLICY", request.param)
    return request.param


@pytest.fixture
def embedded(tmp_path: Path, profile: str):
    with running_embedded(tmp_path / "data") as running:
        yield running


def order_of(api, tokens, order_id: str) -> dict:
    status, order = api.call("GET", f"/api/v1/preservation-orders/{order_id}", tokens["police"])
    assert status == 200, order
    return order


def request_of(api, tokens, request_id: str) -> dict:
    status, request = api.call("GET", f"/api/v1/requests/{request_id}", tokens["police"])
    assert status == 200, request
    return request


def register(api, token: str, body: dict) -> dict:
    status, created = api.call("POST", "/api/v1/requests", token, body)
    assert status == 201, created
    return created


def provider_sees(api, tokens, order_id: str, status: str) -> dict:
    def seen() -> dict | None:
        _, order = api.call("GET", f"/api/v1/isp/orders/{order_id}", tokens["isp_a"])
        return order if order.get("status") == status else None

    return wait_for(seen, what=f"the provider to see the order {status}")


def work(api, tokens) -> dict:
    status, items = api.call("GET", "/api/v1/work", tokens["police"])
    assert status == 200, items
    return items


def messages(api, tokens, case_id: str) -> list[dict]:
    return api.call("GET", f"/api/v1/cases/{case_id}/messages", tokens["police"])[1]["messages"]


# --- refusal and withdrawal ------------------------------------------------------------------
def test_art29_5_refusal_releases_the_order_stops_reminders_and_blocks_art30(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "REF-1")
    request_id = order_of(api, tokens, order["order_id"])["request_id"]
    status, body = api.call(
        "POST", f"/api/v1/requests/{request_id}/refuse", tokens["prosecution"],
        {"grounds": ["security"], "explanation": "prejudice to national security"},
    )  # fmt: skip
    assert status == 200 and body["status"] == "refused", body
    seen = provider_sees(api, tokens, order["order_id"], "released")
    assert "security" not in seen["release_notice"]  # neutral words, not our grounds
    released = wait_for(
        lambda: (o := order_of(api, tokens, order["order_id"]))["status"] == "released" and o,
        what="the order released",
    )
    assert released["closed"]["as"] == "released"
    follow_up = wait_for(
        lambda: (
            (f := order_of(api, tokens, order["order_id"])["mla_follow_up"])
            and f[0]["closed"]
            and f
        ),
        what="the MLA follow-up closed",
    )
    assert follow_up[0]["closed"] in ("request refused", "released")
    # No Art 30 disclosure leaves for a refused request: the order is closed for the provider.
    status, body = api.call(
        "POST", f"/api/v1/isp/orders/{order['order_id']}/foreign-provider", tokens["isp_a"],
        {"country": "DE", "provider_name": "Beispiel GmbH", "details": "NAT"},
    )  # fmt: skip
    assert status == 409, body
    wait_for(
        lambda: any(m["template"] == "refusal" for m in messages(api, tokens, order["case_id"])),
        what="the requesting CP told of the refusal",
    )
    again = api.call(
        "POST", f"/api/v1/requests/{request_id}/refuse", tokens["prosecution"],
        {"grounds": ["security"], "explanation": "again"},
    )  # fmt: skip
    assert again[0] == 409


def test_art29_4_dual_criminality_is_no_ground_without_the_reservation(embedded, tokens):
    api, _, _ = embedded
    created = register(api, tokens["prosecution"], preservation_request("DC-1"))
    status, body = api.call(
        "POST", f"/api/v1/requests/{created['request_id']}/refuse", tokens["prosecution"],
        {"grounds": ["dual_criminality"], "explanation": "not an offence here"},
    )  # fmt: skip
    assert status == 422 and "grounds" in body["fields"], body


def test_art30_2_traffic_disclosure_may_not_be_refused_for_dual_criminality(embedded, tokens):
    api, _, _ = embedded
    body = preservation_request("TD-1", type="traffic_disclosure")
    created = register(api, tokens["prosecution"], body)
    path = f"/api/v1/requests/{created['request_id']}/refuse"
    status, answer = api.call(
        "POST", path, tokens["prosecution"],
        {"grounds": ["dual_criminality"], "explanation": "x"},
    )  # fmt: skip
    assert status == 422 and "grounds" in answer["fields"], answer
    status, answer = api.call(
        "POST", path, tokens["prosecution"], {"grounds": ["ordre_public"], "explanation": "x"}
    )
    assert status == 200 and answer["status"] == "refused"


@pytest.fixture
def reservation_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    policy = {**PROFILES["police-needs-approval"], "name": "with-29-4-reservation",
              "art29_4_reservation": True}  # fmt: skip
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    monkeypatch.setenv("CP247_POLICY", str(path))
    return path


def test_art29_4_dual_criminality_with_the_reservation_but_never_for_arts_2_to_11(
    tmp_path: Path, reservation_policy: Path
):
    with running_embedded(tmp_path / "data") as (api, _, platform):
        platform.apps["gateway"].add_user("pat", "prosecution", PASSWORD)
        token = platform.apps["gateway"].issue_token(username="pat")
        outside = register(api, token, preservation_request("DC-2"))
        inside = preservation_request("DC-3")
        inside["offence"]["convention_articles"] = [2, 8]
        inside = register(api, token, inside)
        refusal = {"grounds": ["dual_criminality"], "explanation": "not an offence here"}
        status, body = api.call(
            "POST", f"/api/v1/requests/{outside['request_id']}/refuse", token, refusal
        )
        assert status == 200 and body["refusal"]["grounds"] == ["dual_criminality"], body
        status, body = api.call(
            "POST", f"/api/v1/requests/{inside['request_id']}/refuse", token, refusal
        )
        assert status == 422 and "grounds" in body["fields"], body


def test_withdrawal_releases_the_order_and_tells_the_requesting_cp(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "WD-1")
    request_id = order_of(api, tokens, order["order_id"])["request_id"]
    path = f"/api/v1/requests/{request_id}/withdraw"
    status, body = api.call("POST", path, tokens["police"], {"reason": "suspect identified"})
    assert status == 200 and body["status"] == "withdrawn", body
    provider_sees(api, tokens, order["order_id"], "released")
    wait_for(
        lambda: any(m["template"] == "withdrawal" for m in messages(api, tokens, order["case_id"])),
        what="the withdrawal confirmed to the requesting CP",
    )
    assert api.call("POST", path, tokens["police"], {"reason": "again"})[0] == 409
    assert request_of(api, tokens, request_id)["status"] == "withdrawn"


# --- Art 29(6) -----------------------------------------------------------------------------
def test_art29_6_notice_holds_back_new_orders_until_the_requesting_party_decides(
    embedded, tokens, profile
):
    api, _, _ = embedded
    if profile == "cp-orders-directly":  # nothing waits for approval: officers' orders do
        created = register(api, tokens["police"], preservation_request("A296-1", "Telco A"))
        path = f"/api/v1/requests/{created['request_id']}"
        notice = {"reason": "prejudice", "explanation": "a search is planned"}
        assert api.call("POST", f"{path}/art29-6-notice", tokens["police"], notice)[0] == 200
        orders = f"/api/v1/cases/{created['case_id']}/preservation-orders"
        status, body = api.call("POST", orders, tokens["police"], {"provider_id": "telco-a"})
        assert status == 409 and "29(6)" in body["message"], body
        decision = {"decision": "execute", "note": "proceed"}
        assert api.call("POST", f"{path}/art29-6-decision", tokens["police"], decision)[0] == 200
        status, body = api.call("POST", orders, tokens["police"], {"provider_id": "telco-a"})
        assert status == 201 and body["status"] == "issued", body
        return
    created = register(api, tokens["police"], preservation_request("A296-1"))
    waiting = wait_for(
        lambda: next((o for o in work(api, tokens)["awaiting_approval"]
                      if o["case_id"] == created["case_id"]), None),
        what="the police order awaiting approval",
    )  # fmt: skip
    request_path = f"/api/v1/requests/{created['request_id']}"
    status, body = api.call(
        "POST", f"{request_path}/art29-6-notice", tokens["prosecution"],
        {"reason": "confidentiality", "explanation": "the provider would alert the suspect"},
    )  # fmt: skip
    assert status == 200 and body["status"] == "awaiting_requester", body
    approve = f"/api/v1/preservation-orders/{waiting['order_id']}/approve"

    def approval_refused() -> bool:
        status, body = api.call("POST", approve, tokens["prosecution"])
        assert status in (200, 409), body
        return status == 409 and "29(6)" in body["message"]

    wait_for(approval_refused, what="approval refused under Art 29(6)")
    status, body = api.call(
        "POST", f"{request_path}/art29-6-decision", tokens["police"],
        {"decision": "execute", "note": "the requesting Party asks us to proceed"},
    )  # fmt: skip
    assert status == 200 and body["status"] == "registered", body

    def approved() -> dict | None:
        status, body = api.call("POST", approve, tokens["prosecution"])
        return body if status == 200 else None

    assert wait_for(approved, what="approval after the decision")["status"] == "issued"
    again = api.call(
        "POST", f"{request_path}/art29-6-decision", tokens["police"], {"decision": "execute"}
    )
    assert again[0] == 409


def test_art29_6_decision_to_withdraw_releases_the_order(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "A296-2")
    request_id = order_of(api, tokens, order["order_id"])["request_id"]
    path = f"/api/v1/requests/{request_id}"
    notice = {"reason": "availability", "explanation": "logs are overwritten hourly"}
    assert api.call("POST", f"{path}/art29-6-notice", tokens["police"], notice)[0] == 200
    status, body = api.call(
        "POST", f"{path}/art29-6-decision", tokens["police"], {"decision": "withdraw"}
    )
    assert status == 200 and body["status"] == "withdrawn", body
    provider_sees(api, tokens, order["order_id"], "released")


# --- Art 29(7) and Art 16(2) in the order ------------------------------------------------------
def test_art29_7_release_is_refused_while_an_incoming_mla_request_is_pending(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "HOLD-1")
    status, mla = api.call(
        "POST", f"/api/v1/cases/{order['case_id']}/mla", tokens["prosecution"],
        {"direction": "incoming", "authority": "US DoJ OIA", "reference": "MLA-1"},
    )  # fmt: skip
    assert status == 201, mla
    wait_for(lambda: order_of(api, tokens, order["order_id"])["held_for_mla"], what="the MLA hold")
    release = f"/api/v1/preservation-orders/{order['order_id']}/release"
    status, body = api.call("POST", release, tokens["prosecution"], {"reason": "not needed"})
    assert status == 409 and "Art 29(7)" in body["message"], body
    status, _ = api.call(
        "POST", f"/api/v1/mla/{mla['mla_id']}/status", tokens["prosecution"],
        {"status": "produced", "note": "data handed over"},
    )  # fmt: skip
    assert status == 200
    wait_for(
        lambda: not order_of(api, tokens, order["order_id"])["held_for_mla"],
        what="the hold lifted",
    )
    status, body = api.call("POST", release, tokens["prosecution"], {"reason": "produced"})
    assert status == 200 and body["status"] == "released", body


def test_art16_2_a_period_above_the_national_maximum_is_refused(embedded, tokens):
    api, _, _ = embedded
    body = preservation_request("MAX-1")
    body["data"]["period_days"] = 3650
    status, answer = api.call("POST", "/api/v1/requests", tokens["police"], body)
    assert status == 422 and "Art 16(2)" in answer["fields"]["data.period_days"][0], answer
    created = register(api, tokens["police"], preservation_request("MAX-2"))
    order = {"provider_id": "telco-a", "identifiers": [], "period_days": 120}
    status, answer = api.call(
        "POST", f"/api/v1/cases/{created['case_id']}/preservation-orders", tokens["police"], order
    )
    assert status == 422 and "Art 16(2)" in answer["fields"]["period_days"][0], answer


def test_art29_7_an_officer_order_below_sixty_days_is_refused_a_request_is_raised(embedded, tokens):
    api, _, _ = embedded
    short = preservation_request("MIN-1")
    short["data"]["period_days"] = 30
    created = register(api, tokens["prosecution"], short)
    assert "period_raised_to_minimum" in created["warnings"]
    order = wait_for(
        lambda: next((o for o in api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])[1][
            "orders"] if o["case_id"] == created["case_id"]), None),
        what="the order in the inbox",
    )  # fmt: skip
    assert order_of(api, tokens, order["order_id"])["period_days"] == 60
    status, answer = api.call(
        "POST", f"/api/v1/cases/{created['case_id']}/preservation-orders", tokens["prosecution"],
        {"provider_id": "telco-b", "period_days": 30},
    )  # fmt: skip
    assert status == 422 and "Art 29(7)" in answer["fields"]["period_days"][0], answer


def test_art29_7_officer_order_identifiers_follow_the_time_rules(embedded, tokens):
    api, _, _ = embedded
    created = register(api, tokens["prosecution"], preservation_request("TIME-1"))
    ambiguous = {"kind": "ip", "value": "198.51.100.7", "port": 443,
                 "observed_at": "2026-11-27 09:14"}  # fmt: skip
    status, answer = api.call(
        "POST", f"/api/v1/cases/{created['case_id']}/preservation-orders", tokens["prosecution"],
        {"provider_id": "telco-b", "identifiers": [ambiguous]},
    )  # fmt: skip
    assert status == 422 and "identifiers.0.observed_at" in answer["fields"], answer


def test_outgoing_request_never_orders_from_a_domestic_provider(embedded, tokens):
    api, _, _ = embedded
    body = preservation_request("OUT-1", direction="outgoing", counterpart_country="NL")
    created = register(api, tokens["prosecution"], body)
    wait_for(
        lambda: "RequestReceived" in events_of(api, tokens, created["case_id"]),
        what="registration on the timeline",
    )
    status, inbox = api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])
    assert all(o["case_id"] != created["case_id"] for o in inbox["orders"])
    status, answer = api.call(
        "POST", f"/api/v1/cases/{created['case_id']}/preservation-orders", tokens["prosecution"],
        {"provider_id": "telco-a"},
    )  # fmt: skip
    assert status == 409, answer


# --- no silent lapse -----------------------------------------------------------------------
def test_art29_2_d_unlisted_custodian_warns_and_waits_in_needs_action(embedded, tokens):
    api, _, _ = embedded
    created = register(api, tokens["prosecution"], preservation_request("LAPSE-1", "Telco A"))
    assert "custodian_not_listed" in created["warnings"]

    def listed() -> bool:
        items = work(api, tokens)["requests_without_order"]
        return any(i["request_id"] == created["request_id"] for i in items)

    wait_for(listed, what="the request listed as without an order")
    status, order = api.call(
        "POST", f"/api/v1/cases/{created['case_id']}/preservation-orders", tokens["prosecution"],
        {"provider_id": "telco-a", "identifiers": preservation_request("LAPSE-1")["data"][
            "identifiers"]},
    )  # fmt: skip
    assert status == 201 and order["request_id"] == created["request_id"], order
    wait_for(lambda: not listed(), what="the item gone once an order covers the request")
    assert request_of(api, tokens, created["request_id"])["status"] == "in_progress"


def test_art29_2_d_an_officer_may_record_why_no_order_is_made(embedded, tokens):
    api, _, _ = embedded
    created = register(api, tokens["prosecution"], preservation_request("LAPSE-2", "unknown"))
    path = f"/api/v1/requests/{created['request_id']}/no-order"
    status, body = api.call("POST", path, tokens["police"], {"reason": "provider is abroad"})
    assert status == 200 and body["no_order"]["reason"] == "provider is abroad", body
    assert all(
        i["request_id"] != created["request_id"]
        for i in work(api, tokens)["requests_without_order"]
    )
    assert api.call("POST", path, tokens["police"], {"reason": "again"})[0] == 409


def test_art29_2_f_a_preservation_request_without_mla_intended_is_refused(embedded, tokens):
    api, _, _ = embedded
    body = preservation_request("MLAF-1", mla_intended=False)
    status, answer = api.call("POST", "/api/v1/requests", tokens["police"], body)
    assert status == 422 and answer["missing"] == ["29.2.f"], answer


# --- several requesting Parties, extensions ------------------------------------------------
def test_several_parties_one_order_runs_until_none_needs_it(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "PARTY-1")
    first = order_of(api, tokens, order["order_id"])["request_id"]
    other = preservation_request("BKA-77")
    other["requesting_authority"] = {
        **other["requesting_authority"],
        "country": "DE",
        "email": "cp@bka.example",
        "time_zone": "Europe/Berlin",
    }
    other["data"]["identifiers"] = preservation_request("PARTY-1")["data"]["identifiers"]
    status, second = api.call("POST", "/api/v1/requests", tokens["police"], other)
    assert status == 201 and "duplicate_of" not in second, second
    assert second["case_id"] == order["case_id"] and second["request_id"] != first
    covered = wait_for(
        lambda: second["request_id"] in (o := order_of(api, tokens, order["order_id"]))[
            "request_ids"] and o,
        what="the order covering the second Party",
    )  # fmt: skip
    assert covered["request_ids"] == [first, second["request_id"]]
    wait_for(
        lambda: sum(m["template"] == "order_issued"
                    for m in messages(api, tokens, order["case_id"])) == 2,
        what="feedback to each Party",
    )  # fmt: skip
    # The provider's report reaches every Party, each with its own message.
    preserved = f"/api/v1/isp/orders/{order['order_id']}/preserved"
    assert api.call("POST", preserved, tokens["isp_a"], {"note": "kept"})[0] == 200
    wait_for(
        lambda: sum(m["template"] == "data_preserved"
                    for m in messages(api, tokens, order["case_id"])) == 2,
        what="the provider's report to each Party",
    )  # fmt: skip
    withdraw = {"reason": "no longer needed"}
    assert api.call("POST", f"/api/v1/requests/{first}/withdraw", tokens["police"], withdraw)[
        0] == 200  # fmt: skip
    wait_for(
        lambda: order_of(api, tokens, order["order_id"])["request_ids"] == [second["request_id"]],
        what="the first Party dropped",
    )
    assert order_of(api, tokens, order["order_id"])["status"] == "preserved"  # still runs
    path = f"/api/v1/requests/{second['request_id']}/withdraw"
    assert api.call("POST", path, tokens["police"], withdraw)[0] == 200
    provider_sees(api, tokens, order["order_id"], "released")


def test_art16_2_extension_request_extends_the_running_order(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "EXT-1")
    before = order_of(api, tokens, order["order_id"])["expires_at"]
    extension = preservation_request("EXT-1", status="extension", previous_reference="EXT-1")
    extension["data"]["period_days"] = 60
    status, created = api.call("POST", "/api/v1/requests", tokens["police"], extension)
    assert status == 201 and "duplicate_of" not in created, created
    assert created["extends"] == order_of(api, tokens, order["order_id"])["request_id"]
    assert created["case_id"] == order["case_id"]
    extended = wait_for(
        lambda: (o := order_of(api, tokens, order["order_id"]))["expires_at"] != before and o,
        what="the order extended",
    )
    gained = datetime.fromisoformat(extended["expires_at"].replace("Z", "+00:00")) - (
        datetime.fromisoformat(before.replace("Z", "+00:00"))
    )
    assert gained == timedelta(days=60)
    provider_sees(api, tokens, order["order_id"], "issued")
    unknown = preservation_request("EXT-9", status="extension", previous_reference="NOPE-1")
    status, answer = api.call("POST", "/api/v1/requests", tokens["police"], unknown)
    assert status == 422 and "previous_reference" in answer["fields"], answer


# --- outgoing requests -----------------------------------------------------------------------
def test_outgoing_request_is_sent_chased_acknowledged_answered_and_followed_by_our_mla(
    embedded, tokens
):
    api, _, platform = embedded
    body = preservation_request("NL-OUT-1", direction="outgoing", counterpart_country="NL")
    created = register(api, tokens["prosecution"], body)
    path = f"/api/v1/requests/{created['request_id']}"
    early = api.call("POST", f"{path}/foreign-receipt", tokens["police"], {"reference": "x"})
    assert early[0] == 409  # not sent yet
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    status, sent = api.call(
        "POST", f"{path}/sent", tokens["police"], {"channel": "email", "at": two_days_ago}
    )
    assert status == 200 and sent["status"] == "in_progress" and sent["sent"]["chase_at"], sent
    assert api.call("POST", f"{path}/sent", tokens["police"], {"channel": "fax"})[0] == 409

    def chased() -> bool:
        platform.apps["mla"].run_clocks()
        return any(c["request_id"] == created["request_id"] and c["chased"]
                   for c in work(api, tokens)["outgoing_chases"])  # fmt: skip

    wait_for(chased, what="a chase for the missing foreign receipt")
    wait_for(
        lambda: any(m["template"] == "outgoing_chase"
                    for m in messages(api, tokens, created["case_id"])),
        what="the duty officer told to chase",
    )  # fmt: skip
    status, body = api.call(
        "POST", f"{path}/foreign-receipt", tokens["police"], {"reference": "NL-2026-77"}
    )
    assert status == 200 and body["foreign_receipt"]["reference"] == "NL-2026-77", body
    expires = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    status, body = api.call(
        "POST", f"{path}/answer", tokens["police"],
        {"outcome": "preserved", "expires_at": expires, "note": "preserved 90 days"},
    )  # fmt: skip
    assert status == 200 and body["status"] == "answered", body

    def our_clock() -> dict | None:
        platform.apps["mla"].run_clocks()
        clocks = work(api, tokens)["our_mla_clocks"]
        return next((c for c in clocks if c["request_id"] == created["request_id"]), None)

    clock = wait_for(
        lambda: (c := our_clock()) and c["reminded_days_before"] and c,
        what="our MLA clock and its first reminder",
    )
    assert clock["mla_due"] and 7 in clock["reminded_days_before"]
    wait_for(
        lambda: any(m["template"] == "mla_reminder" and m["audience"] == "prosecutor"
                    for m in messages(api, tokens, created["case_id"])),
        what="our duty prosecutor reminded",
    )  # fmt: skip
    status, _ = api.call(
        "POST", f"/api/v1/cases/{created['case_id']}/mla", tokens["prosecution"],
        {"direction": "outgoing", "reference": "RO-MLA-1"},
    )  # fmt: skip
    assert status == 201
    assert our_clock() is None
    assert request_of(api, tokens, created["request_id"])["destination"]["listed"] is False
    close = f"/api/v1/cases/{created['case_id']}/close"
    assert api.call("POST", close, tokens["police"], {"outcome": "MLA sent"})[0] == 409


# --- cases ------------------------------------------------------------------------------------
def test_case_closes_only_when_nothing_runs_and_reopens_when_a_request_joins(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "CLOSE-1")
    close = f"/api/v1/cases/{order['case_id']}/close"
    status, body = api.call("POST", close, tokens["police"], {"outcome": "done"})
    assert status == 409 and order["order_id"] in body["running_orders"], body
    release = f"/api/v1/preservation-orders/{order['order_id']}/release"
    assert api.call("POST", release, tokens["prosecution"], {"reason": "case ended"})[0] == 200
    status, case = api.call("POST", close, tokens["police"], {"outcome": "suspect charged"})
    assert status == 200 and case["status"] == "closed", case
    assert all(r["status"] == "closed" for r in case["requests"])
    assert api.call("POST", close, tokens["police"], {"outcome": "again"})[0] == 409
    extension = preservation_request("CLOSE-2", status="extension", previous_reference="CLOSE-1")
    created = register(api, tokens["police"], extension)
    status, case = api.call("GET", f"/api/v1/cases/{created['case_id']}", tokens["police"])
    assert case["status"] == "open" and created["request_id"] in case["request_ids"]


def test_the_approver_is_told_when_an_order_awaits_approval(embedded, tokens, profile):
    api, _, _ = embedded
    if profile == "cp-orders-directly":  # the police order is issued at once: nobody to tell
        order = issued_order(api, tokens, "APPR-0")
        assert order["status"] == "issued"
        assert all(m["template"] != "approval_needed"
                   for m in messages(api, tokens, order["case_id"]))  # fmt: skip
        return
    created = register(api, tokens["police"], preservation_request("APPR-1"))
    message = wait_for(
        lambda: next((m for m in messages(api, tokens, created["case_id"])
                      if m["template"] == "approval_needed"), None),
        what="the approver alerted",
    )  # fmt: skip
    assert message["audience"] == "prosecutor"
