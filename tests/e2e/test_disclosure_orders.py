"""Disclosure orders (API.md "Disclosure and production", issue 20), over HTTP, embedded:
approved per national policy, delivered to the provider with their kind and due-by, with
the identification rules a subscriber order needs, and withdrawn at the provider when the
request they answer is refused."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from embedded_runner import running_embedded
from pypdf import PdfReader
from slice_driver import preservation_request, wait_for

from cp247.clock import parse_iso


@pytest.fixture(params=["police-needs-approval", "cp-orders-directly"])
def profile(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CP247_POLICY", request.param)
    return request.param


@pytest.fixture
def embedded(tmp_path: Path, profile: str):
    with running_embedded(tmp_path / "data") as running:
        yield running


def identification_case(api, tokens, reference: str) -> tuple[str, str, list[dict]]:
    """A foreign CP asks who was behind an address: (case id, request id, identifiers)."""
    body = preservation_request(reference, type="subscriber_identification")
    status, created = api.call("POST", "/api/v1/requests", tokens["police"], body)
    assert status == 201, created
    return created["case_id"], created["request_id"], body["data"]["identifiers"]


def create(api, token: str, case_id: str, **fields) -> tuple[int, dict]:
    return api.call("POST", f"/api/v1/cases/{case_id}/disclosure-orders", token, fields)


def subscriber_order(api, token: str, case_id: str, identifiers: list[dict]) -> tuple[int, dict]:
    """Who was behind these identifiers, asked of telco-a."""
    return create(
        api, token, case_id,
        provider_id="telco-a", identifiers=identifiers, data_types=["subscriber"],
    )  # fmt: skip


def in_provider_inbox(api, tokens, order_id: str, status: str = "issued") -> dict:
    def seen() -> dict | None:
        _, listed = api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])
        return next(
            (o for o in listed["orders"] if o["order_id"] == order_id and o["status"] == status),
            None,
        )

    return wait_for(seen, what=f"the disclosure order {status} in the provider's inbox")


def disclosure_order(api, tokens, order_id: str) -> dict:
    status, order = api.call("GET", f"/api/v1/disclosure-orders/{order_id}", tokens["police"])
    assert status == 200, order
    return order


def test_art18_a_disclosure_order_follows_the_national_policy_and_reaches_the_provider(
    embedded, tokens, profile
):
    api, _, _ = embedded
    case_id, request_id, identifiers = identification_case(api, tokens, "SUB-1")
    status, order = subscriber_order(api, tokens["police"], case_id, identifiers)
    assert status == 201, order
    assert order["kind"] == "disclosure" and order["request_id"] == request_id
    if profile == "police-needs-approval":
        assert order["status"] == "awaiting_approval"
        _, work = api.call("GET", "/api/v1/work", tokens["police"])
        assert order["order_id"] in [o["order_id"] for o in work["disclosure_orders"]]
        path = f"/api/v1/disclosure-orders/{order['order_id']}/approve"
        assert api.call("POST", path, tokens["police"])[0] == 403
        status, order = api.call("POST", path, tokens["prosecution"])
        assert status == 200, order
        assert order["approved_by"]["role"] == "prosecution"
    assert order["status"] == "issued"
    # P2 Art 8(4): subscriber information within 20 days, the national default
    due = parse_iso(order["due_by"]) - parse_iso(order["issued_at"])
    assert timedelta(days=19, hours=23) < due <= timedelta(days=20)
    listed = in_provider_inbox(api, tokens, order["order_id"])
    assert listed["kind"] == "disclosure" and listed["due_by"] == order["due_by"]
    assert listed["expires_at"] is None
    assert [i["value"] for i in listed["identifiers"]] == [i["value"] for i in identifiers]
    # It is answered by producing the data, not by preserving them.
    isp_path = f"/api/v1/isp/orders/{order['order_id']}"
    status, body = api.call("POST", f"{isp_path}/preserved", tokens["isp_a"], {"note": "kept"})
    assert status == 409, body
    assert api.call("GET", isp_path, tokens["isp_b"])[0] == 404  # another provider's
    status, _ = api.call("POST", f"{isp_path}/acknowledge", tokens["isp_a"])
    assert status == 200
    wait_for(
        lambda: disclosure_order(api, tokens, order["order_id"])["status"] == "acknowledged",
        what="the acknowledgement recorded on the disclosure order",
    )
    status, pdf = api.call("GET", f"{isp_path}/document", tokens["isp_a"])
    assert status == 200 and isinstance(pdf, bytes)
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "ORDER TO DISCLOSE DATA" in text and "Disclose by" in text
    assert "Preserve until" not in text
    assert listed["document_number"].startswith("DO-") and listed["document_number"] in text


def test_p2_art7_a_subscriber_behind_a_public_ipv4_address_needs_its_source_port(embedded, tokens):
    api, _, _ = embedded
    case_id, _, _ = identification_case(api, tokens, "SUB-2")
    address = {"kind": "ip", "value": "8.8.4.4", "observed_at": "2026-11-27T22:14:05-05:00"}
    status, body = create(
        api, tokens["prosecution"], case_id,
        provider_id="telco-a", identifiers=[address], data_types=["subscriber"],
    )  # fmt: skip
    assert status == 422, body
    assert "identifiers.0.port" in body["fields"]
    # with its port it identifies one subscriber
    status, body = create(
        api, tokens["prosecution"], case_id,
        provider_id="telco-a", identifiers=[{**address, "port": 40123}],
        data_types=["subscriber"],
    )  # fmt: skip
    assert status == 201, body


def test_art18_content_is_ordered_disclosed_only_where_national_law_allows(embedded, tokens):
    api, _, _ = embedded
    case_id, _, identifiers = identification_case(api, tokens, "SUB-3")
    status, body = create(
        api, tokens["prosecution"], case_id,
        provider_id="telco-a", identifiers=identifiers, data_types=["content"],
    )  # fmt: skip
    assert status == 422, body
    assert "data_types" in body["fields"]


@pytest.mark.parametrize(
    ("due_by", "why"),
    [
        ("2030-01-01T09:00:00", "an ISO 8601 time with its UTC offset"),
        ("2020-01-01T09:00:00+00:00", "has passed"),
        ("next tuesday", "an ISO 8601 time"),
    ],
)
def test_a_due_by_without_offset_or_in_the_past_is_refused(embedded, tokens, due_by, why):
    api, _, _ = embedded
    case_id, _, identifiers = identification_case(api, tokens, f"SUB-4-{due_by[:4]}")
    status, body = create(
        api, tokens["prosecution"], case_id,
        provider_id="telco-a", identifiers=identifiers, data_types=["subscriber"], due_by=due_by,
    )  # fmt: skip
    assert status == 422, body
    assert why in " ".join(body["fields"]["due_by"])


def test_a_due_by_given_is_kept_in_utc_and_a_mistyped_provider_is_refused(embedded, tokens):
    api, _, _ = embedded
    case_id, _, identifiers = identification_case(api, tokens, "SUB-5")
    wanted = (datetime.now(UTC) + timedelta(hours=8)).replace(microsecond=0)
    local = wanted.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "+00:00"
    status, order = create(
        api, tokens["prosecution"], case_id,
        provider_id="telco-a", identifiers=identifiers, data_types=["subscriber", "traffic"],
        due_by=local,
    )  # fmt: skip
    assert status == 201, order
    assert parse_iso(order["due_by"]) == wanted
    status, body = create(
        api, tokens["prosecution"], case_id,
        provider_id="telco-zz", identifiers=identifiers, data_types=["subscriber"],
    )  # fmt: skip
    assert status == 422 and "provider_id" in body["fields"], body


def test_refusal_withdraws_the_disclosure_order_at_the_provider(embedded, tokens):
    api, _, _ = embedded
    case_id, request_id, identifiers = identification_case(api, tokens, "SUB-6")
    status, order = subscriber_order(api, tokens["prosecution"], case_id, identifiers)
    assert status == 201 and order["status"] == "issued", order
    in_provider_inbox(api, tokens, order["order_id"])
    status, body = api.call(
        "POST", f"/api/v1/requests/{request_id}/refuse", tokens["prosecution"],
        {"grounds": ["security"], "explanation": "prejudice to national security"},
    )  # fmt: skip
    assert status == 200, body
    withdrawn = in_provider_inbox(api, tokens, order["order_id"], "withdrawn")
    assert "security" not in withdrawn["release_notice"]  # neutral words, not our grounds
    assert "Do not disclose" in withdrawn["release_notice"]
    ours = wait_for(
        lambda: (
            (o := disclosure_order(api, tokens, order["order_id"]))["status"] == "withdrawn" and o
        ),
        what="the disclosure order withdrawn",
    )
    assert ours["withdrawn"]["reason"] == "request refused"
    # Nothing more is issued for the refused request.
    status, body = create(
        api, tokens["prosecution"], case_id, request_id=request_id,
        provider_id="telco-a", identifiers=identifiers, data_types=["subscriber"],
    )  # fmt: skip
    assert status == 409, body


def test_an_unanswered_disclosure_order_reminds_the_duty_prosecutor_then_escalates(
    embedded, tokens
):
    api, _, platform = embedded
    case_id, _, identifiers = identification_case(api, tokens, "SUB-7")
    status, order = subscriber_order(api, tokens["prosecution"], case_id, identifiers)
    assert status == 201 and order["status"] == "issued", order
    due = parse_iso(order["due_by"])
    clocks = platform.apps["preservation"].run_disclosure_clocks

    def sent(template: str) -> list[dict]:
        _, body = api.call("GET", f"/api/v1/cases/{case_id}/messages", tokens["police"])
        return [m for m in body["messages"] if m["template"] == template]

    assert clocks(now=due - timedelta(hours=3)) == [order["order_id"]]
    reminder = wait_for(lambda: sent("disclosure_due"), what="the duty prosecutor reminded")
    assert [m["audience"] for m in reminder] == ["prosecutor"]
    assert clocks(now=due - timedelta(hours=2)) == []  # once per reminder
    assert clocks(now=due + timedelta(minutes=1)) == [order["order_id"]]
    overdue = wait_for(
        lambda: len(late := sent("disclosure_overdue")) == 2 and late,
        what="both CPs' duty officers told it is overdue",
    )
    assert sorted(m["audience"] for m in overdue) == ["duty_officer", "prosecutor"]
    assert disclosure_order(api, tokens, order["order_id"])["overdue"] is True
    wait_for(
        lambda: any(
            "Disclosure order overdue" in entry["summary"]
            for entry in api.call("GET", f"/api/v1/cases/{case_id}/timeline", tokens["police"])[1][
                "entries"
            ]
        ),
        what="the escalation on the timeline",
    )


def test_data_not_available_is_recorded_and_nothing_leaves_for_the_requesting_cp(embedded, tokens):
    api, _, platform = embedded
    case_id, _, identifiers = identification_case(api, tokens, "SUB-8")
    status, order = subscriber_order(api, tokens["prosecution"], case_id, identifiers)
    assert status == 201, order
    in_provider_inbox(api, tokens, order["order_id"])
    isp_path = f"/api/v1/isp/orders/{order['order_id']}/unavailable"
    status, answer = api.call("POST", isp_path, tokens["isp_a"], {"reason": "no logs kept"})
    assert status == 200 and answer["status"] == "unavailable", answer
    ours = wait_for(
        lambda: (
            (o := disclosure_order(api, tokens, order["order_id"]))["status"] == "unavailable" and o
        ),
        what="the answer recorded on the disclosure order",
    )
    assert ours["unavailable_reason"] == "no logs kept"
    platform.deliver()
    _, body = api.call("GET", f"/api/v1/cases/{case_id}/messages", tokens["police"])
    assert [m for m in body["messages"] if m["template"] == "data_unavailable"] == []
    # answered: its clock stops
    due = parse_iso(order["due_by"])
    assert platform.apps["preservation"].run_disclosure_clocks(now=due) == []
