"""Every cross-service event of cp247, one schema each. ``make events-doc`` renders this file
into ``docs/events.md``; add an event here before any service may publish it."""

from __future__ import annotations

from marshmallow import fields, validate

from events.contract import EventContract, Registry
from events.fields import (
    Actor,
    AuthoritySchema,
    Country,
    DataTypes,
    Identifiers,
    PayloadSchema,
    Timestamp,
)

REQUEST_TYPES = [
    "preservation",
    "traffic_disclosure",
    "mla_stored_data",
    "mla_realtime_traffic",
    "mla_interception",
    "subscriber_identification",
    "emergency_disclosure",
    "technical_advice",
    "legal_information",
    "locate_suspect",
]
DIRECTIONS = ["incoming", "outgoing"]
URGENCIES = ["emergency", "urgent", "routine"]


# --- intake ---------------------------------------------------------------------------------
class CaseOpened(PayloadSchema):
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    type = fields.String(required=True, validate=validate.OneOf(REQUEST_TYPES))
    urgency = fields.String(required=True, validate=validate.OneOf(URGENCIES))
    counterpart_country = Country(required=True)
    actor = Actor(required=True)


class Custodian(PayloadSchema):
    provider_id = fields.String(allow_none=True, load_default=None)
    name = fields.String(allow_none=True, load_default=None)
    country = fields.String(allow_none=True, load_default=None)
    listed = fields.Boolean(
        required=True, metadata={"description": "provider is in our provider directory"}
    )


class RequestReceived(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    type = fields.String(required=True, validate=validate.OneOf(REQUEST_TYPES))
    urgency = fields.String(required=True, validate=validate.OneOf(URGENCIES))
    received_via = fields.String(required=True)
    counterpart_country = Country(required=True)
    requesting_authority = fields.Nested(AuthoritySchema, required=True)
    custodian = fields.Nested(Custodian, allow_none=True, load_default=None)
    identifiers = Identifiers(required=True)
    data_types = DataTypes(required=True)
    period_days = fields.Integer(allow_none=True, load_default=None)
    mla_intended = fields.Boolean(allow_none=True, load_default=None)
    warnings = fields.List(fields.String(), required=True)
    received_at = Timestamp(required=True)
    our_reference = fields.String(
        required=True, metadata={"description": "our reference, quoted in the receipt"}
    )
    actor = Actor(required=True)


class DuplicateDetected(PayloadSchema):
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    received_via = fields.String(required=True)
    actor = Actor(required=True)


# --- preservation ---------------------------------------------------------------------------
class OrderDrafted(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None)
    provider_id = fields.String(required=True)
    identifiers = Identifiers(required=True)
    data_types = DataTypes(required=True)
    period_days = fields.Integer(required=True, validate=validate.Range(min=60))
    legal_basis = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    mla_intended = fields.Boolean(allow_none=True, load_default=None)
    actor = Actor(required=True)


class OrderApprovalRequested(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    reason = fields.String(required=True)
    actor = Actor(required=True)


class OrderApproved(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    actor = Actor(required=True)


class OrderIssued(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    identifiers = Identifiers(required=True)
    data_types = DataTypes(required=True)
    legal_basis = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    mla_intended = fields.Boolean(allow_none=True, load_default=None)
    issued_at = Timestamp(required=True)
    expires_at = Timestamp(required=True)
    actor = Actor(required=True)


class OrderAcknowledged(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    acknowledged_at = Timestamp(required=True)
    actor = Actor(required=True)


# --- isp_liaison ----------------------------------------------------------------------------
class ProviderRegistered(PayloadSchema):
    provider_id = fields.String(required=True)
    name = fields.String(required=True)
    country = Country(required=True)
    email = fields.String(allow_none=True, load_default=None)
    webhook = fields.String(allow_none=True, load_default=None)


class OrderDelivered(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    identifiers = Identifiers(required=True)
    data_types = DataTypes(required=True)
    legal_basis = fields.String(required=True)
    issued_at = Timestamp(required=True)
    expires_at = Timestamp(required=True)
    channel = fields.String(required=True, metadata={"description": "api inbox or webhook"})


class ProviderAcknowledgedOrder(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    acknowledged_at = Timestamp(required=True)
    actor = Actor(required=True)


# --- mla ------------------------------------------------------------------------------------
class MlaExpected(PayloadSchema):
    follow_up_id = fields.String(required=True)
    case_id = fields.String(required=True)
    order_id = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    due_by = Timestamp(
        required=True, metadata={"description": "MLA must be received/sent before this"}
    )


# --- notification ---------------------------------------------------------------------------
class ReceiptAcknowledged(PayloadSchema):
    notice_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    recipient = fields.Nested(AuthoritySchema, required=True)
    our_reference = fields.String(required=True)
    channel = fields.String(required=True)


def _contract(source: str, schema: type[PayloadSchema], description: str) -> EventContract:
    return EventContract(
        name=schema.__name__, version=1, source=source, schema=schema, description=description
    )


registry = Registry(
    [
        _contract("intake", CaseOpened, "A new case was opened for a request."),
        _contract(
            "intake",
            RequestReceived,
            "A request from a foreign CP (incoming) or to one (outgoing) was registered.",
        ),
        _contract(
            "intake",
            DuplicateDetected,
            "A request already registered (by either CP) arrived again; no new case.",
        ),
        _contract("preservation", OrderDrafted, "A preservation order was drafted."),
        _contract(
            "preservation",
            OrderApprovalRequested,
            "National policy requires a prosecutor's approval before the order is issued.",
        ),
        _contract("preservation", OrderApproved, "A prosecutor approved the order."),
        _contract(
            "preservation",
            OrderIssued,
            "The order was issued to the provider; it runs until expires_at (>= 60 days).",
        ),
        _contract(
            "preservation", OrderAcknowledged, "The provider's acknowledgement was recorded."
        ),
        _contract("isp_liaison", ProviderRegistered, "A provider joined the directory."),
        _contract("isp_liaison", OrderDelivered, "The order reached the provider's inbox."),
        _contract("isp_liaison", ProviderAcknowledgedOrder, "The provider acknowledged the order."),
        _contract(
            "mla",
            MlaExpected,
            "A formal MLA request is expected before the preservation expires.",
        ),
        _contract(
            "notification",
            ReceiptAcknowledged,
            "Receipt of an incoming request was confirmed to the requesting CP.",
        ),
    ]
)
