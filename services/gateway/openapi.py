"""The OpenAPI document, generated from the same marshmallow schemas that validate input."""

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
            "403": {"description": "role not allowed"},
            "404": {"description": "unknown or not visible to this caller"},
            "422": {
                "description": "validation failed",
                "content": {"application/json": {"schema": "Error"}},
            },
        },
        "security": [{"bearer": []}],
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
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.schema("Request", schema=RequestSchema)
    spec.components.schema("PreservationOrderRequest", schema=OrderRequestSchema)
    cp = "police, prosecution"
    paths = {
        "/api/v1/requests": {"post": _op("Register a request", cp, "Request", "201")},
        "/api/v1/cases": {"get": _op("List cases (status, type, country, direction)", cp)},
        "/api/v1/cases/{case_id}": {"get": _op("One case", cp)},
        "/api/v1/cases/{case_id}/timeline": {"get": _op("The shared, hash-chained timeline", cp)},
        "/api/v1/cases/{case_id}/preservation-orders": {
            "post": _op("Order preservation", cp, "PreservationOrderRequest", "201")
        },
        "/api/v1/preservation-orders/{order_id}": {"get": _op("One order", cp)},
        "/api/v1/preservation-orders/{order_id}/approve": {
            "post": _op("Approve an order", "prosecution")
        },
        "/api/v1/isp/orders": {"get": _op("The provider's own orders (status)", "isp")},
        "/api/v1/isp/orders/{order_id}": {"get": _op("One own order", "isp")},
        "/api/v1/isp/orders/{order_id}/document": {"get": _op("The order document", "isp")},
        "/api/v1/isp/orders/{order_id}/acknowledge": {
            "post": _op("Acknowledge an order (idempotent)", "isp")
        },
    }
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    for path in ("/healthz", "/readyz", "/api/v1/openapi.json"):
        spec.path(path=path, operations={"get": {"responses": {"200": {"description": "OK"}}}})
    return spec.to_dict()
