"""The OpenAPI document, generated from the same marshmallow schemas that validate input.

Every protected operation takes a bearer token or the login session cookie; with the cookie,
a request that changes something also needs ``X-CSRF-Token`` (the ``csrf_token`` of login).
Templated paths declare their parameters, commands their bodies (:mod:`.bodies`), and every
response that can come back is listed with its media type, so that a client generator or a
fuzzer (``tests/e2e/test_fuzz_api.py``) can work from this document alone.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from cp247 import __version__
from services.gateway.audit_report import AuditReportSchema, VerificationSchema
from services.gateway.bodies import BODIES
from services.intake.schemas import RequestSchema
from services.preservation.schemas import (
    Art30ApprovalSchema,
    DisclosureOrderRequestSchema,
    OrderRequestSchema,
    TransmissionRequestSchema,
    WithholdSchema,
)


class ErrorSchema(Schema):
    error = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields")
    missing = fields.List(fields.String())
    # A case that cannot close (409) says what still runs.
    running_orders = fields.List(fields.String(), metadata={"description": "orders still running"})
    pending_mla = fields.List(fields.String(), metadata={"description": "MLA requests undecided"})
    our_mla_due = fields.List(
        fields.String(), metadata={"description": "our requests preserved abroad, our MLA due"}
    )
    retry_after_seconds = fields.Integer(metadata={"description": "429: when to try again"})


JSON = "application/json"
PDF = "application/pdf"
HTML = "text/html"
FORM = "application/x-www-form-urlencoded"
ERROR = {JSON: {"schema": "Error"}}
ERRORS = {
    "400": "malformed JSON or request",
    "401": "no or invalid token",
    "403": "role not allowed; or csrf_token_invalid: a session-cookie request other than "
    "GET/HEAD without its X-CSRF-Token",
    "404": "unknown or not visible to this caller",
    "409": "state conflict (e.g. approving an issued order)",
    "410": "erased at the end of its retention period",
    "413": "the body is larger than 2 MB",
    "415": "the body must be sent as application/json",
    "422": "validation failed",
    "429": "too many failed logins from this address: wait retry_after_seconds (Retry-After)",
    "503": "a store or service cannot be reached; nothing was recorded (Retry-After)",
}
UUID = {"type": "string", "format": "uuid"}
PATH_PARAMETERS: dict[str, tuple[dict[str, Any], str]] = {
    "case_id": (UUID, "a case"),
    "request_id": (UUID, "a request"),
    "order_id": (UUID, "an order (preservation or disclosure)"),
    "production_id": (UUID, "a provider's production"),
    "disclosure_id": (UUID, "a disclosure to the requesting Party"),
    "name": ({"type": "string", "minLength": 1, "maxLength": 128}, "a produced file's name"),
    "mla_id": (UUID, "an MLA request"),
    "verification_id": (UUID, "a full re-verification"),
    "username": ({"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"}, "a user"),
    "provider_id": ({"type": "string", "minLength": 1, "maxLength": 64}, "a provider"),
    "alert_id": (UUID, "a duty alert"),
    "country": ({"type": "string"}, "ISO 3166-1 alpha-2 code, e.g. US (any case)"),
    "kind": ({"type": "string"}, "police, prosecution or hybrid (any case)"),
    "change_id": (UUID, "a proposed change of a contact point's addresses or phones"),
}


# The most cases one ``GET /api/v1/cases?limit=`` returns (the gateway enforces it).
CASE_LIST_LIMIT = 1000


def query(name: str, description: str, required: bool = False, **schema: Any) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _op(
    summary: str,
    roles: str | None,
    body: str | None = None,
    ok: str = "200",
    *,
    params: list[dict[str, Any]] | None = None,
    media: str = JSON,
    body_required: bool = True,
    body_media: str = JSON,
    errors: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One operation; ``roles=None`` is public. Every operation may answer 400 and 503; a
    protected one 401 and 403; one with a body 413 and 422; ``errors`` adds more (404 is
    added to every operation of a templated path)."""
    codes = {"400", "503", *errors}
    if roles is not None:
        codes |= {"401", "403"}
    if body:
        codes |= {"413", "422"}
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            ok: {"description": "OK", "content": {media: {"schema": {}}}},
            **{code: {"description": ERRORS[code], "content": ERROR} for code in sorted(codes)},
        },
    }
    if roles is not None:
        operation["description"] = f"Roles: {roles}."
        operation["security"] = [{"bearer": []}, {"session": []}]
    if params:
        operation["parameters"] = params
    if body:  # a schema's name, or for a body other than JSON its description
        schema: Any = body if body_media == JSON else {"type": "string", "description": body}
        operation["requestBody"] = {
            "required": body_required,
            "content": {body_media: {"schema": schema}},
        }
    return operation


def _alert_link_operations() -> dict[str, Any]:
    """The link of an alert e-mail. Opening it (GET, HEAD) changes nothing, since mail scanners
    fetch every link; its page's button POSTs the token. Neither names the case."""
    html = {HTML: {"schema": {"type": "string"}}}
    link = _op(
        "The page of a duty alert's e-mailed link: a button that takes the alert (opening the "
        "link takes nothing)",
        None,
        media=HTML,
        params=[query("token", "the signed token of the link", required=True)],
    )
    link["responses"]["404"] = {"description": "The link is not valid (a page)", "content": html}
    take = _op(
        "Take a duty alert with its link's token: the link page's form, or JSON {\"token\"}",
        None,
        "AlertLink",
        body_media=FORM,
    )
    take["requestBody"]["content"][JSON] = {"schema": "AlertLink"}
    take["requestBody"]["content"][FORM] = {"schema": "AlertLink"}
    take["description"] = (
        "A form answers with a page; a JSON body (or Accept: application/json) with "
        "`{alert_id, acknowledged: {by, at, via}}`. Taking an alert twice is taking it once."
    )
    take["responses"]["200"]["content"] = {**html, JSON: {"schema": {}}}
    take["responses"]["404"] = {
        "description": "The token is not valid (a page, or JSON for a JSON request)",
        "content": {**html, **ERROR},
    }
    return {"get": link, "post": take}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    parameters = []
    for name in re.findall(r"{(\w+)}", path):
        schema, description = PATH_PARAMETERS[name]
        parameters.append(
            {"name": name, "in": "path", "required": True, "description": description,
             "schema": dict(schema)}
        )  # fmt: skip
    return parameters


def _only_null(node: Any) -> Any:
    """apispec renders an optional nested object as ``anyOf: [ref, {type: object, nullable}]``,
    which admits any object at all; the second branch means ``null``, so say so."""
    if isinstance(node, dict):
        if node.get("anyOf"):
            node["anyOf"] = [
                {**branch, "enum": [None]}
                if branch == {"type": "object", "nullable": True}
                else _only_null(branch)
                for branch in node["anyOf"]
            ]
        for key, value in node.items():
            if key != "anyOf":
                _only_null(value)
    elif isinstance(node, list):
        for item in node:
            _only_null(item)
    return node


def _audit_verify_operation() -> dict[str, Any]:
    operation = _op(
        "Recompute the timeline from the event stores, cross-check every producer against the "
        "timeline's per-case tallies, verify the sealed stores",
        "admin, oversight",
    )
    operation["responses"]["200"]["content"][JSON]["schema"] = "AuditReport"
    return operation


def _verification_operation(method: str) -> dict[str, Any]:
    if method == "post":
        operation = _op(
            "Start a full re-verification from every producer's first event (a background "
            "job); follow it by its id",
            "admin, oversight",
            ok="202",
        )
    else:
        operation = _op(
            "A full re-verification: progress, ETA and, once done, its report",
            "admin, oversight",
        )
    operation["responses"][next(iter(operation["responses"]))]["content"][JSON]["schema"] = (
        "Verification"
    )
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
    spec.components.schema("DisclosureOrderRequest", schema=DisclosureOrderRequestSchema)
    spec.components.schema("Disclosure", schema=TransmissionRequestSchema)
    spec.components.schema("Art30Approval", schema=Art30ApprovalSchema)
    spec.components.schema("Withholding", schema=WithholdSchema)
    spec.components.schema("AuditReport", schema=AuditReportSchema)
    spec.components.schema("Verification", schema=VerificationSchema)
    for name, body_schema in BODIES.items():
        spec.components.schema(name, schema=body_schema)
    cp = "police, prosecution"
    command = ("409",)  # a state change the current state may not allow
    paths = {
        "/api/v1/requests": {"post": _op("Register a request", cp, "Request", "201")},
        "/api/v1/cases": {
            "get": _op(
                "List cases, newest first (status, type, country, direction, q, limit, "
                "offset); each with the references of its requests, ours and theirs",
                cp,
                params=[
                    query("status", "only cases in this status"),
                    query("type", "only requests of this type, e.g. preservation"),
                    query("country", "only this counterpart country, e.g. US (any case)"),
                    query("direction", "incoming or outgoing"),
                    query(
                        "q",
                        "search, any case: our reference (CP247-2026-...), the requester's, "
                        "a provider id, a country, or the first characters of a case id",
                        maxLength=200,
                    ),
                    {
                        "name": "offset",
                        "in": "query",
                        "required": False,
                        "description": "skip that many first (with limit: the next page)",
                        "schema": {"type": "integer", "minimum": 0},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "description": "only the newest that many cases (after the filters); "
                        "default: all",
                        "schema": {"type": "integer", "minimum": 1, "maximum": CASE_LIST_LIMIT},
                    },
                ],
                errors=("422",),
            )
        },
        "/api/v1/work": {
            "get": _op(
                "What needs action now: undecided emergencies (P2 Art 9) first, open alerts "
                "(age, escalation), orders awaiting approval or the provider's "
                "acknowledgement, disclosure orders, Art 30 reports to decide, orders expiring "
                "soonest, MLA follow-ups within the horizon, near-duplicates to confirm; "
                "case_names: each case's references",
                cp,
            )
        },
        "/api/v1/providers": {
            "get": _op("The provider directory: provider_id, name, country of each", cp)
        },
        "/api/v1/cases/{case_id}": {"get": _op("One case", cp)},
        "/api/v1/cases/{case_id}/timeline": {"get": _op("The shared, hash-chained timeline", cp)},
        "/api/v1/cases/{case_id}/preservation-orders": {
            "post": _op(
                "Order preservation (60 days at least, Art 29(7); the policy's maximum, Art 16(2))",
                cp,
                "PreservationOrderRequest",
                "201",
                errors=command,
            )
        },
        "/api/v1/preservation-orders/{order_id}": {"get": _op("One order", cp)},
        "/api/v1/preservation-orders/{order_id}/document": {
            "get": _op(
                "The signed order (PDF) as delivered to the provider",
                cp,
                media=PDF,
                errors=("410",),
            )
        },
        "/api/v1/preservation-orders/{order_id}/approve": {
            "post": _op("Approve an order", "prosecution", errors=command)
        },
        "/api/v1/cases/{case_id}/disclosure-orders": {
            "post": _op(
                "Order a listed provider to disclose data (subscriber, traffic; content only "
                "where the national policy allows) by due_by; awaiting_approval where the "
                "policy makes the caller's role wait for a prosecutor. A subscriber "
                "identification by a public IPv4 address needs its source port (422)",
                cp,
                "DisclosureOrderRequest",
                "201",
                errors=command,
            )
        },
        "/api/v1/disclosure-orders/{order_id}": {"get": _op("One disclosure order", cp)},
        "/api/v1/disclosure-orders/{order_id}/approve": {
            "post": _op("Approve a disclosure order", "prosecution", errors=command)
        },
        "/api/v1/requests/{request_id}/disclosures": {
            "post": _op(
                "Disclose productions obtained for this incoming request to its requesting "
                "Party, under conditions (use_limited_to, confidential, further_transfer, "
                "handling_code; Art 28(2), P2 Art 9(6)); the message states them and each "
                "file's SHA-256. The same productions and conditions again return the same "
                "disclosure; a request refused or withdrawn, or one of ours, is a 409; a "
                "production of another case or of another request's order a 422",
                "prosecution",
                "Disclosure",
                "201",
                errors=command,
            )
        },
        "/api/v1/cases/{case_id}/disclosures": {
            "get": _op(
                "What left or waits to leave for the requesting Parties: disclosures of kind "
                "production or art30, status pending, sent or withheld",
                cp,
            )
        },
        "/api/v1/disclosures/{disclosure_id}": {"get": _op("One disclosure", cp)},
        "/api/v1/disclosures/{disclosure_id}/approve": {
            "post": _op(
                "Art 30: let a pending report leave, as it is or edited down to country, "
                "provider_name and path (optional conditions); 409 once decided or if the "
                "request was refused or withdrawn",
                "prosecution",
                "Art30Approval",
                body_required=False,
                errors=command,
            )
        },
        "/api/v1/disclosures/{disclosure_id}/withhold": {
            "post": _op(
                "Art 30(2): withhold a pending report on one or more grounds "
                "(political_offence, sovereignty, security, ordre_public, "
                "essential_interests) with an explanation; the same decision again changes "
                "nothing",
                "prosecution",
                "Withholding",
                errors=command,
            )
        },
        "/api/v1/isp/orders/{order_id}/produce": {
            "post": _op(
                "Produce data for an own disclosure order: files (name, media_type, "
                "content_base64, sha256; up to 20 files and 20 MB a call) and a note. Each "
                "sha256 is checked against the content (422); the same files again return the "
                "same answer and record nothing; a preservation order is a 409",
                "isp",
                "Production",
                "201",
                errors=command,
            )
        },
        "/api/v1/productions/{production_id}": {
            "get": _op(
                "A production: provider, time, note and each file's sha256 and size (read "
                "audit); erased: true and no files once retention erased the case",
                cp,
            )
        },
        "/api/v1/productions/{production_id}/package": {
            "get": _op(
                "The production for a court (application/zip): files/, manifest.json with "
                "each file's SHA-256 and the case's timeline, manifest.json.sig signed with "
                "the documents key; check with cp247 documents verify. The export is on the "
                "timeline (read audit); 410 once erased",
                cp,
                media="application/zip",
                errors=("410",),
            )
        },
        "/api/v1/productions/{production_id}/files/{name}": {
            "get": _op(
                "The file's bytes as produced, with X-Content-SHA256 (read audit)",
                cp,
                media="application/octet-stream",
                errors=("410",),
            )
        },
        "/api/v1/isp/orders": {
            "get": _op(
                "The provider's own orders, preservation and disclosure alike (kind; due_by "
                "for disclosure orders) (status)",
                "isp",
                params=[query("status", "only orders in this status, e.g. issued")],
            )
        },
        "/api/v1/isp/orders/{order_id}": {
            "get": _op(
                "One own order (document_sha256 is null until the document is signed, a moment "
                "after delivery)",
                "isp",
            )
        },
        "/api/v1/isp/orders/{order_id}/document": {
            "get": _op(
                "The signed order document, as soon as the order is listed (made on demand if "
                "not yet signed: the same bytes)",
                "isp",
                media=PDF,
                errors=("410",),
            )
        },
        "/api/v1/isp/orders/{order_id}/acknowledge": {
            "post": _op("Acknowledge an order (idempotent)", "isp", errors=command)
        },
        "/api/v1/isp/orders/{order_id}/preserved": {
            "post": _op(
                "Report the data preserved {note, records} (idempotent; the body may be left out)",
                "isp",
                "PreservedReport",
                body_required=False,
                errors=command,
            )
        },
        "/api/v1/isp/orders/{order_id}/unavailable": {
            "post": _op(
                "Report the data not available {reason} (idempotent)",
                "isp",
                "UnavailableReport",
                errors=command,
            )
        },
        "/api/v1/isp/orders/{order_id}/foreign-provider": {
            "post": _op(
                "Art 30: another State's provider {country, provider_name, details}",
                "isp",
                "ForeignProviderReport",
                errors=command,
            )
        },
        "/api/v1/isp/orders/{order_id}/document.sig": {
            "get": _op("Detached Ed25519 signature of the document", "isp", errors=("410",))
        },
        "/api/v1/preservation-orders/{order_id}/extend": {
            "post": _op("Extend {days}", cp, "Extension", errors=command)
        },
        "/api/v1/preservation-orders/{order_id}/release": {
            "post": _op("Release {reason}", cp, "Release", errors=command)
        },
        "/api/v1/cases/{case_id}/mla": {
            "post": _op(
                "Record an MLA request: its kind (stored_data Art 31, realtime_traffic Art 33, "
                "interception Art 34), optionally the request intake registered (request_id: "
                "joins that request's record) and the judicial authorisation",
                cp,
                "MlaRequest",
                "201",
                errors=command,
            ),
            "get": _op("MLA requests of a case", cp),
        },
        "/api/v1/mla/{mla_id}": {"get": _op("One MLA request", cp)},
        "/api/v1/mla/{mla_id}/status": {
            "post": _op(
                "Move an MLA request on {status, note}; produced may name the productions "
                "(production_ids, of the case) that answer it; an incoming Art 33/34 request "
                "is executed only once its judicial authorisation is recorded (409)",
                cp,
                "MlaStatus",
                errors=command,
            )
        },
        "/api/v1/mla/{mla_id}/authorisation": {
            "post": _op(
                "Record the judicial authorisation an MLA request is executed under "
                "{authority, date, reference}",
                cp,
                "MlaAuthorisation",
                errors=command,
            )
        },
        "/api/v1/cases/{case_id}/lead": {
            "post": _op("Make police or prosecution lead", cp, "Lead", errors=command)
        },
        "/api/v1/cases/{case_id}/near-duplicates/{request_id}": {
            "post": _op(
                "Confirm or split a near duplicate {resolution}",
                cp,
                "NearDuplicateResolution",
                errors=command,
            )
        },
        "/api/v1/requests/{request_id}": {"get": _op("One request", cp)},
        "/api/v1/requests/{request_id}/refuse": {
            "post": _op(
                "Refuse on the grounds its type allows (Art 29(4)/(5), Art 30(2)): its orders "
                "are released, its reminders stop, the requesting CP is told",
                "prosecution",
                "Refusal",
                errors=command,
            )
        },
        "/api/v1/requests/{request_id}/art29-6-notice": {
            "post": _op("Art 29(6) notice", cp, "Art296Notice", errors=command)
        },
        "/api/v1/requests/{request_id}/art29-6-decision": {
            "post": _op(
                "The requesting Party's decision after an Art 29(6) notice {decision, note}",
                cp,
                "Art296Decision",
                errors=command,
            )
        },
        "/api/v1/requests/{request_id}/withdraw": {
            "post": _op(
                "Withdraw a request {reason}: its orders are released (if no other Party "
                "needs them), its reminders stop, no disclosure leaves for it",
                cp,
                "Withdrawal",
                errors=command,
            )
        },
        "/api/v1/requests/{request_id}/no-order": {
            "post": _op(
                "Record why a preservation request gets no order {reason}",
                cp,
                "NoOrder",
                errors=command,
            )
        },
        "/api/v1/requests/{request_id}/sent": {
            "post": _op("Outgoing: our request was sent {channel, at}", cp, "Sent", errors=command)
        },
        "/api/v1/requests/{request_id}/foreign-receipt": {
            "post": _op(
                "Outgoing: the foreign CP confirmed receipt {reference, at}",
                cp,
                "ForeignReceipt",
                errors=command,
            )
        },
        "/api/v1/requests/{request_id}/answer": {
            "post": _op(
                "Outgoing: the foreign CP answered {outcome, expires_at, note}",
                cp,
                "Answer",
                errors=command,
            )
        },
        "/api/v1/cases/{case_id}/close": {
            "post": _op(
                "Close a case {outcome, note} (409 while an order runs or MLA is pending)",
                cp,
                "CaseClose",
                errors=command,
            )
        },
        "/api/v1/requests/{request_id}/letter": {
            "get": _op(
                "Outgoing preservation request as a signed PDF letter",
                cp,
                media=PDF,
                errors=("409", "410"),
            )
        },
        "/api/v1/requests/{request_id}/letter.sig": {
            "get": _op("Detached signature of the letter", cp, errors=("409", "410"))
        },
        "/api/v1/contact-points": {
            "get": _op(
                "Directory of foreign contact points (country)",
                f"{cp}, admin",
                params=[query("country", "ISO 3166-1 alpha-2 code, e.g. US")],
                errors=("422",),
            ),
            "post": _accepted(
                _op(
                    "List or update one contact point (202: new addresses or phones of a listed "
                    "one are proposed, in effect once another officer confirms them)",
                    f"{cp}, admin",
                    "ContactPoint",
                    errors=command,
                )
            ),
        },
        "/api/v1/inbox": {"get": _op("Console inbox of the duty officers", cp)},
        "/api/v1/cases/{case_id}/messages": {"get": _op("Messages sent about a case", cp)},
        "/api/v1/alerts": {"get": _op("Open duty alerts", cp)},
        "/api/v1/alerts/{alert_id}/acknowledge": {
            "post": _op("Take a duty alert", cp, errors=command)
        },
        "/api/v1/alerts/ack": _alert_link_operations(),
        "/api/v1/audit/reads": {
            "get": _op(
                "Who read a case, request, order or document",
                "admin",
                params=[
                    query(
                        "target",
                        "what:id, e.g. case:<case_id> (also timeline:, request:, order:, "
                        "document:); a list by the day it was read: work:<YYYY-MM-DD> (also "
                        "inbox:, cases:, provider_orders:)",
                        required=True,
                    )
                ],
                errors=("422",),
            )
        },
        "/api/v1/audit/read-figures": {
            "get": _op(
                "The read audit as figures, per user and month: reads, reads outside the "
                "user's duty hours (null: the duty roster does not list them), reads of "
                "cases the user has no entry on the timeline of (null for providers), cases "
                "read; totals. No case id",
                "oversight, admin",
                params=[
                    query(
                        "from",
                        "first month (YYYY-MM); default this month",
                        pattern=r"^\d{4}-\d{2}$",
                    ),
                    query(
                        "to",
                        "last month (YYYY-MM, included; default this month); at most 120 months",
                        pattern=r"^\d{4}-\d{2}$",
                    ),
                ],
                errors=("422",),
            )
        },
        "/api/v1/audit/verify": {"get": _audit_verify_operation()},
        "/api/v1/audit/verifications": {"post": _verification_operation("post")},
        "/api/v1/audit/anchors": {
            "post": _op(
                "Anchor the audit head now (also daily): signed with the documents key, "
                "appended to the anchor file and e-mailed to the oversight body",
                "admin",
                ok="201",
                errors=("409",),
            )
        },
        "/api/v1/audit/verifications/{verification_id}": {"get": _verification_operation("get")},
        "/api/v1/stats": {
            "get": _op(
                "Figures for oversight (year): aggregates only. Requests count from when they "
                "arrived (received_at), receipts as acknowledged when delivered; the MLA share "
                "over closed windows; decisions, emergencies, duplicates, Art 29 apart from "
                "Art 30, our requests' answer times",
                "oversight, admin",
                params=[
                    {
                        "name": "year",
                        "in": "query",
                        "description": "calendar year; default: this year",
                        "schema": {"type": "integer", "minimum": 1990, "maximum": 2100},
                    },
                    query(
                        "from",
                        "first month of a period (YYYY-MM), instead of a year; the "
                        "answer then has period {from, to}",
                        pattern=r"^\d{4}-\d{2}$",
                    ),
                    query(
                        "to",
                        "last month of the period (YYYY-MM, included; default this "
                        "month); at most 120 months",
                        pattern=r"^\d{4}-\d{2}$",
                    ),
                ],
                errors=("422",),
            )
        },
        "/api/v1/contact-points/import": {
            "post": _op(
                "Import a CSV directory (all rows or none): {created, updated, unchanged, "
                "pending}; new addresses or phones of listed entries are only proposed "
                "(pending), in effect once another officer confirms them",
                "admin",
                "UTF-8 CSV: a header row naming every field of ContactPoint, then one entry "
                "a row; list fields separated by ';', can_order_preservation yes/no",
                body_media="text/csv",
                errors=command,
            )
        },
        "/api/v1/contact-points/{country}/{kind}": {
            "get": _op("One contact point", f"{cp}, admin")
        },
        "/api/v1/login": {
            "post": {
                **_op(
                    "Log in with password and TOTP code {username, password, totp}",
                    None,
                    "Login",
                    errors=("401", "403", "415", "429"),
                ),
                "description": "200: {token, role, expires_in_seconds, csrf_token}: a session "
                "token, also set as an HttpOnly cookie; send csrf_token as X-CSRF-Token with "
                "every cookie request other than GET/HEAD. 401: wrong username, password or "
                "code (the same answer for every failure, including an unknown user, a "
                "disabled account, no second factor enrolled or a code used before); 403: a "
                "cross-site login (Origin or Sec-Fetch-Site of another site); 415: the body "
                "is not sent as application/json; 429: too many failures from this address, "
                "wait retry_after_seconds (never a lock of the account: the right password "
                "and code pass from another address).",
            }
        },
        "/api/v1/logout": {
            "post": _op(
                "End the session: revoke its token, clear the cookie (409 for an API token, "
                "which is not a login session)",
                "police, prosecution, oversight, admin",
                errors=command,
            )
        },
    }
    paths.update(_admin_paths())
    paths.update(_directory_change_paths())
    for path, operations in paths.items():
        parameters = _path_parameters(path)
        for operation in operations.values() if parameters else ():
            operation["parameters"] = parameters + operation.get("parameters", [])
            operation["responses"]["404"] = {"description": ERRORS["404"], "content": ERROR}
        spec.path(path=path, operations=operations)
    ok = {"description": "OK", "content": {JSON: {"schema": {}}}}
    spec.path(path="/healthz", operations={"get": {"summary": "Alive", "responses": {"200": ok}}})
    spec.path(
        path="/readyz",
        operations={
            "get": {
                "summary": "Ready: every service reachable ({status, checks}; 'degraded' when "
                "one other than intake is not)",
                "responses": {
                    "200": ok,
                    "503": {"description": "not ready: intake cannot be reached", **ok},
                },
            }
        },
    )
    spec.path(
        path="/api/v1/openapi.json",
        operations={"get": {"summary": "This document", "responses": {"200": ok}}},
    )
    return _only_null(spec.to_dict())


def _accepted(operation: dict[str, Any]) -> dict[str, Any]:
    """The operation may also answer 202: taken, but waiting for someone else to act."""
    operation["responses"]["202"] = {
        "description": "Accepted: waiting for another officer's confirmation",
        "content": {JSON: {"schema": {}}},
    }
    return operation


def _directory_change_paths() -> dict[str, Any]:
    """Four eyes on where we write: a proposed change of a contact point's addresses or
    phones takes effect when an officer other than its proposer confirms it."""
    roles = "police, prosecution, admin"
    change = "/api/v1/contact-points/changes/{change_id}"
    return {
        "/api/v1/contact-points/changes": {
            "get": _op("Proposed changes of addresses or phones awaiting confirmation", roles)
        },
        f"{change}/confirm": {
            "post": _op(
                "Confirm a proposed change: it takes effect (403 for its own proposer; 409 when "
                "already decided)",
                roles,
                errors=("409",),
            )
        },
        f"{change}/reject": {
            "post": _op(
                "Reject a proposed change, or withdraw one's own (409 when already decided)",
                roles,
                errors=("409",),
            )
        },
    }


def _admin_paths() -> dict[str, Any]:
    """Accounts: list them, disable a person, end every token and session of a user or of a
    provider's integration (a leaver; a stolen token whose string nobody knows)."""
    command = ("409",)
    user = "/api/v1/admin/users/{username}"
    return {
        "/api/v1/admin/users": {
            "get": _op(
                "Every account: role, second factor, disabled, last login, failed logins",
                "admin",
            )
        },
        f"{user}/disable": {
            "post": _op(
                "Disable a user: no login; every token and session ends", "admin", errors=command
            )
        },
        f"{user}/enable": {
            "post": _op("Enable a user again (earlier tokens stay ended)", "admin", errors=command)
        },
        f"{user}/revoke-tokens": {
            "post": _op("End every token and session of a user", "admin", errors=command)
        },
        "/api/v1/admin/providers/{provider_id}/revoke-tokens": {
            "post": _op("End every token of a provider's integration", "admin", errors=command)
        },
    }
