"""The OpenAPI document, generated from the same marshmallow schemas that validate input.

Every protected operation takes a bearer token or the login session cookie; with the cookie,
a request that changes something also needs ``X-CSRF-Token`` (the ``csrf_token`` of login).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from cp247 import __version__
from services.intake.schemas import RequestSchema
from services.preservation.schemas import OrderRequestSchema


class ErrorSchema(Schema):
    error = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields")
    missing = fields.List(fields.String())


def _op(summary: str, roles: str, body: str | None = None, ok: str = "200") -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": f"Roles: {roles}.",
        "responses": {
            ok: {"description": "OK"},
            "400": {"description": "malformed JSON"},
            "401": {"description": "no or invalid token"},
            "403": {
                "description": "role not allowed; or csrf_token_invalid: a session-cookie "
                "request other than GET/HEAD without its X-CSRF-Token"
            },
            "404": {"description": "unknown or not visible to this caller"},
            "422": {
                "description": "validation failed",
                "content": {"application/json": {"schema": "Error"}},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return operation


@cache
def openapi_document() -> dict[str, Any]:
    spec = APISpec(
        title="cp247",
        version=__version__,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme(
        "session",
        {
            "type": "apiKey",
            "in": "cookie",
            "name": "cp247_session",
            "description": "set by /api/v1/login; other than GET/HEAD, send X-CSRF-Token too",
        },
    )
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.schema("Request", schema=RequestSchema)
    spec.components.schema("PreservationOrderRequest", schema=OrderRequestSchema)
    cp = "police, prosecution"
    paths = {
        "/api/v1/requests": {"post": _op("Register a request", cp, "Request", "201")},
        "/api/v1/cases": {"get": _op("List cases (status, type, country, direction)", cp)},
        "/api/v1/work": {
            "get": _op(
                "What needs action now: open alerts, orders awaiting approval or the "
                "provider's acknowledgement, orders expiring soonest, MLA follow-ups, "
                "near-duplicates to confirm",
                cp,
            )
        },
        "/api/v1/cases/{case_id}": {"get": _op("One case", cp)},
        "/api/v1/cases/{case_id}/timeline": {"get": _op("The shared, hash-chained timeline", cp)},
        "/api/v1/cases/{case_id}/preservation-orders": {
            "post": _op("Order preservation", cp, "PreservationOrderRequest", "201")
        },
        "/api/v1/preservation-orders/{order_id}": {"get": _op("One order", cp)},
        "/api/v1/preservation-orders/{order_id}/document": {
            "get": _op("The signed order (PDF) as delivered to the provider", cp)
        },
        "/api/v1/preservation-orders/{order_id}/approve": {
            "post": _op("Approve an order", "prosecution")
        },
        "/api/v1/isp/orders": {"get": _op("The provider's own orders (status)", "isp")},
        "/api/v1/isp/orders/{order_id}": {"get": _op("One own order", "isp")},
        "/api/v1/isp/orders/{order_id}/document": {"get": _op("The order document", "isp")},
        "/api/v1/isp/orders/{order_id}/acknowledge": {
            "post": _op("Acknowledge an order (idempotent)", "isp")
        },
        "/api/v1/isp/orders/{order_id}/preserved": {
            "post": _op("Report the data preserved {note, records} (idempotent)", "isp")
        },
        "/api/v1/isp/orders/{order_id}/unavailable": {
            "post": _op("Report the data not available {reason} (idempotent)", "isp")
        },
        "/api/v1/isp/orders/{order_id}/foreign-provider": {
            "post": _op("Art 30: another State's provider {country, provider_name, details}", "isp")
        },
        "/api/v1/isp/orders/{order_id}/document.sig": {
            "get": _op("Detached Ed25519 signature of the document", "isp")
        },
        "/api/v1/preservation-orders/{order_id}/extend": {"post": _op("Extend {days}", cp)},
        "/api/v1/preservation-orders/{order_id}/release": {"post": _op("Release {reason}", cp)},
        "/api/v1/cases/{case_id}/mla": {
            "post": _op("Record an MLA request", cp, ok="201"),
            "get": _op("MLA requests of a case", cp),
        },
        "/api/v1/mla/{mla_id}": {"get": _op("One MLA request", cp)},
        "/api/v1/mla/{mla_id}/status": {"post": _op("Move an MLA request on {status, note}", cp)},
        "/api/v1/cases/{case_id}/lead": {"post": _op("Make police or prosecution lead", cp)},
        "/api/v1/cases/{case_id}/near-duplicates/{request_id}": {
            "post": _op("Confirm or split a near duplicate {resolution}", cp)
        },
        "/api/v1/requests/{request_id}": {"get": _op("One request", cp)},
        "/api/v1/requests/{request_id}/refuse": {
            "post": _op("Refuse on Art 29(4)/(5) grounds", "prosecution")
        },
        "/api/v1/requests/{request_id}/art29-6-notice": {"post": _op("Art 29(6) notice", cp)},
        "/api/v1/requests/{request_id}/letter": {
            "get": _op("Outgoing preservation request as a signed PDF letter", cp)
        },
        "/api/v1/requests/{request_id}/letter.sig": {
            "get": _op("Detached signature of the letter", cp)
        },
        "/api/v1/contact-points": {
            "get": _op("Directory of foreign contact points (country)", f"{cp}, admin"),
            "post": _op("List or update one contact point", f"{cp}, admin"),
        },
        "/api/v1/inbox": {"get": _op("Console inbox of the duty officers", cp)},
        "/api/v1/cases/{case_id}/messages": {"get": _op("Messages sent about a case", cp)},
        "/api/v1/alerts": {"get": _op("Open duty alerts", cp)},
        "/api/v1/alerts/{alert_id}/acknowledge": {"post": _op("Take a duty alert", cp)},
        "/api/v1/alerts/ack": {
            "get": {
                "summary": "Take a duty alert by the signed link in its e-mail (token)",
                "responses": {"200": {"description": "OK"}, "404": {"description": "bad link"}},
            }
        },
        "/api/v1/audit/reads": {"get": _op("Who read a case, request, order or document", "admin")},
        "/api/v1/audit/verify": {
            "get": _op("Recompute the timeline from the event stores", "admin, oversight")
        },
        "/api/v1/stats": {
            "get": _op("Figures for oversight (year): aggregates only", "oversight, admin")
        },
        "/api/v1/contact-points/import": {"post": _op("Import a CSV directory", "admin")},
        "/api/v1/contact-points/{country}/{kind}": {"get": _op("One contact point", cp)},
    }
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    spec.path(
        path="/api/v1/login",
        operations={
            "post": {
                "summary": "Log in with password and TOTP code {username, password, totp}",
                "responses": {
                    "200": {
                        "description": "{token, role, expires_in_seconds, csrf_token}: a "
                        "session token, also set as an HttpOnly cookie; send csrf_token as "
                        "X-CSRF-Token with every cookie request other than GET/HEAD"
                    },
                    "401": {"description": "wrong username, password or code"},
                    "403": {"description": "no second factor enrolled yet"},
                    "429": {"description": "locked after repeated failures"},
                },
            }
        },
    )
    spec.path(
        path="/api/v1/logout",
        operations={
            "post": {
                **_op(
                    "End the session: revoke its token, clear the cookie",
                    "police, prosecution, oversight, admin",
                ),
                "responses": {
                    "200": {"description": '{"status": "logged_out"}'},
                    "401": {"description": "no or invalid token"},
                    "403": {"description": "not a console user, or csrf_token_invalid"},
                    "409": {"description": "an API token, not a login session"},
                },
            }
        },
    )
    for path in ("/healthz", "/readyz", "/api/v1/openapi.json"):
        spec.path(path=path, operations={"get": {"responses": {"200": {"description": "OK"}}}})
    return spec.to_dict()
