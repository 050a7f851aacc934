"""A small world for fuzzing the API: one identity of every role and a few records in every
state worth reaching, so that generated calls hit real cases, orders and requests and not
only ``404``s. Made through the public API (and the in-process identity application, like the
``tokens`` fixture), so it runs against the embedded product."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from slice_driver import PASSWORD, Api, preservation_request, wait_for

from cp247.embedded import EmbeddedPlatform

USERS = (("pat", "prosecution"), ("poe", "police"), ("ada", "admin"), ("ovi", "oversight"))
PROVIDERS = ("telco-a", "telco-b")


@dataclass
class World:
    tokens: dict[str, str]  # role (and isp_b) -> bearer token
    ids: dict[str, list[str]] = field(default_factory=dict)  # path parameter -> known values


def build_world(api: Api, platform: EmbeddedPlatform, prefix: str = "FUZZ") -> World:
    identity, providers = platform.apps["gateway"], platform.apps["isp_liaison"]
    for username, role in USERS:
        identity.add_user(username, role, PASSWORD)
    for provider in PROVIDERS:
        providers.register_provider(provider, provider.title(), "RO")
    tokens = {role: identity.issue_token(username=username) for username, role in USERS}
    tokens["isp"] = identity.issue_token(provider_id="telco-a")
    tokens["isp_b"] = identity.issue_token(provider_id="telco-b")

    def post(role: str, path: str, body: object) -> dict:
        status, answer = api.call("POST", path, tokens[role], body)
        assert status in (200, 201), (path, answer)
        return answer

    # An order issued at once (prosecution), one awaiting approval (police), a near duplicate.
    issued = post("prosecution", "/api/v1/requests", preservation_request(f"{prefix}-ISSUED"))
    waiting = post("police", "/api/v1/requests", preservation_request(f"{prefix}-WAITING"))
    second = preservation_request(f"{prefix}-NEAR")
    second["data"]["identifiers"] = copy.deepcopy(
        preservation_request(f"{prefix}-ISSUED")["data"]["identifiers"]
    )
    second["data"]["identifiers"][0]["observed_at"] = "2026-11-27T22:40:00-05:00"
    near = post("police", "/api/v1/requests", second)
    outgoing = preservation_request(f"{prefix}-OUT", direction="outgoing", counterpart_country="NL")
    outgoing["requesting_authority"] = {
        "country": "RO", "contact_point": "Cybercrime Directorate 24/7 Unit",
        "reference": f"{prefix}-OUT", "time_zone": "Europe/Bucharest",
    }  # fmt: skip
    letter = post("police", "/api/v1/requests", outgoing)
    emergency = post(
        "police",
        "/api/v1/requests",
        {
            "direction": "incoming",
            "type": "emergency_disclosure",
            "urgency": "emergency",
            "requesting_authority": {"country": "FR", "reference": f"{prefix}-EMERGENCY"},
            "emergency": {"risk": "a child is threatened with harm tonight"},
            "offence": {"summary_of_facts": "threats sent from an account"},
            "data": {"identifiers": [{"kind": "account", "value": "threat_sender_01"}]},
        },
    )
    post(
        "admin",
        "/api/v1/contact-points",
        {
            "country": "US", "kind": "police", "name": "US 24/7 Network",
            "institutional_email": "cp247@us.example", "time_zone": "America/New_York",
            "can_order_preservation": True,
        },
    )  # fmt: skip

    def order_of(case_id: str) -> str | None:
        _, case = api.call("GET", f"/api/v1/cases/{case_id}", tokens["police"])
        orders = case.get("preservation_orders") or []
        return orders[0]["order_id"] if orders else None

    issued_order = wait_for(lambda: order_of(issued["case_id"]), what="the issued order")
    waiting_order = wait_for(lambda: order_of(waiting["case_id"]), what="the waiting order")

    def delivered() -> bool:
        _, inbox = api.call("GET", "/api/v1/isp/orders", tokens["isp"])
        return any(o["order_id"] == issued_order for o in inbox["orders"])

    wait_for(delivered, what="the order in telco-a's inbox")
    mla = post(
        "prosecution",
        f"/api/v1/cases/{issued['case_id']}/mla",
        {"direction": "incoming", "reference": f"{prefix}-MLA", "stage": "pre_trial"},
    )
    alerts = wait_for(
        lambda: api.call("GET", "/api/v1/alerts", tokens["police"])[1]["alerts"],
        what="the duty alert of the emergency request",
    )
    cases = [issued, waiting, letter, emergency]
    return World(
        tokens=tokens,
        ids={
            "case_id": [c["case_id"] for c in cases],
            "request_id": [c["request_id"] for c in (*cases, near)],
            "order_id": [issued_order, waiting_order],
            "mla_id": [mla["mla_id"]],
            "alert_id": [a["alert_id"] for a in alerts],
            "country": ["US", "us", "RO"],
            "kind": ["police", "hybrid", "PROSECUTION"],
        },
    )
