"""Every cross-service event of cp247, one schema each. ``make events-doc`` renders this file
into ``docs/events.md``; add an event here before any service may publish it."""

from __future__ import annotations

from marshmallow import fields, validate

from events.contract import EventContract, Registry
from events.directory_contracts import CONTRACTS as DIRECTORY_CONTRACTS
from events.fields import (
    PERSONAL,
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
    identifiers = Identifiers(required=True, metadata=PERSONAL)
    data_types = DataTypes(required=True)
    period_days = fields.Integer(allow_none=True, load_default=None)
    mla_intended = fields.Boolean(allow_none=True, load_default=None)
    warnings = fields.List(fields.String(), required=True)
    completeness = fields.Float(
        required=True, metadata={"description": "share of recommended checklist items given"}
    )
    near_duplicate_of = fields.String(
        allow_none=True,
        load_default=None,
        metadata={"description": "joined to that request's case; a human confirms or splits"},
    )
    acknowledge_to = fields.Dict(
        allow_none=True, load_default=None, metadata={"description": "directory entry to answer"}
    )
    details = fields.Dict(
        required=True,
        metadata={**PERSONAL, "description": "offence, authorities, necessity, follow-up"},
    )
    received_at = Timestamp(required=True)
    our_reference = fields.String(
        required=True, metadata={"description": "our reference, quoted in the receipt"}
    )
    actor = Actor(required=True)
    kind = fields.String(
        load_default="new",
        validate=validate.OneOf(["new", "extension"]),
        metadata={"description": "a new request, or an extension of `extends`"},
    )
    extends = fields.String(
        allow_none=True, load_default=None, metadata={"description": "the earlier request"}
    )
    same_data_as = fields.String(
        allow_none=True,
        load_default=None,
        metadata={"description": "another requesting Party's request about the same data"},
    )


class DuplicateDetected(PayloadSchema):
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    received_via = fields.String(required=True)
    actor = Actor(required=True)


class CaseLeadAssigned(PayloadSchema):
    case_id = fields.String(required=True)
    lead = fields.String(required=True, validate=validate.OneOf(["police", "prosecution"]))
    actor = Actor(required=True)


class RelatedRequestJoined(PayloadSchema):
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    matched_request_id = fields.String(required=True)
    reason = fields.String(required=True)
    actor = Actor(required=True)


class NearDuplicateResolved(PayloadSchema):
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    resolution = fields.String(required=True, validate=validate.OneOf(["confirmed", "split"]))
    new_case_id = fields.String(allow_none=True, load_default=None)
    actor = Actor(required=True)


class RequestMovedToCase(PayloadSchema):
    request_id = fields.String(required=True)
    from_case_id = fields.String(required=True)
    case_id = fields.String(required=True)
    actor = Actor(required=True)


class RequestRefused(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    grounds = fields.List(fields.String(), required=True)
    explanation = fields.String(required=True, metadata=PERSONAL)
    actor = Actor(required=True)


class Art296NoticeGiven(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    reason = fields.String(
        required=True, validate=validate.OneOf(["availability", "confidentiality", "prejudice"])
    )
    explanation = fields.String(required=True, metadata=PERSONAL)
    actor = Actor(required=True)


class RequestWithdrawn(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    reason = fields.String(required=True, metadata=PERSONAL)
    actor = Actor(required=True)


class Art296DecisionRecorded(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    decision = fields.String(required=True, validate=validate.OneOf(["execute", "withdraw"]))
    note = fields.String(required=True, metadata=PERSONAL)
    actor = Actor(required=True)


class RequestOrderNoted(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    order_id = fields.String(required=True)
    issued = fields.Boolean(required=True)


class RequestOrderDeclined(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    reason = fields.String(required=True, metadata=PERSONAL)
    actor = Actor(required=True)


class OutgoingRequestSent(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    counterpart_country = Country(required=True)
    channel = fields.String(required=True)
    at = Timestamp(required=True)
    chase_at = Timestamp(
        required=True, metadata={"description": "no foreign receipt by then: chase"}
    )
    actor = Actor(required=True)


class ForeignReceiptRecorded(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    reference = fields.String(allow_none=True, load_default=None)
    at = Timestamp(required=True)
    actor = Actor(required=True)


class ForeignAnswerRecorded(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(REQUEST_TYPES))
    outcome = fields.String(required=True)
    expires_at = Timestamp(allow_none=True, load_default=None)
    note = fields.String(required=True, metadata=PERSONAL)
    actor = Actor(required=True)


class RequestClosed(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    actor = Actor(required=True)


class CaseClosed(PayloadSchema):
    case_id = fields.String(required=True)
    outcome = fields.String(required=True, metadata=PERSONAL)
    note = fields.String(required=True, metadata=PERSONAL)
    request_ids = fields.List(fields.String(), required=True)
    actor = Actor(required=True)


class CaseReopened(PayloadSchema):
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    actor = Actor(required=True)


class RequestJoinedCase(PayloadSchema):
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    relation = fields.String(
        required=True, validate=validate.OneOf(["extension", "another_requesting_party"])
    )
    related_to = fields.String(required=True)
    actor = Actor(required=True)


class IdentifierIndexStarted(PayloadSchema):
    key = fields.String(
        required=True,
        metadata={"description": "keyed SHA-256 of kind|value|provider: names no identifier"},
    )


class IdentifierSeen(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    observed_at = fields.String(allow_none=True, load_default=None)


# --- preservation ---------------------------------------------------------------------------
class OrderDrafted(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None)
    provider_id = fields.String(required=True)
    identifiers = Identifiers(required=True, metadata=PERSONAL)
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
    provider_id = fields.String(allow_none=True, load_default=None)


class OrderApproved(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    actor = Actor(required=True)


class OrderIssued(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None)
    provider_id = fields.String(required=True)
    identifiers = Identifiers(required=True, metadata=PERSONAL)
    data_types = DataTypes(required=True)
    legal_basis = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    mla_intended = fields.Boolean(allow_none=True, load_default=None)
    issued_at = Timestamp(required=True)
    expires_at = Timestamp(required=True)
    actor = Actor(required=True)
    request_ids = fields.List(
        fields.String(),
        allow_none=True,
        load_default=None,
        metadata={"description": "every request (one per requesting Party) it preserves for"},
    )


class OrderAcknowledged(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    acknowledged_at = Timestamp(required=True)
    actor = Actor(required=True)


class OrderDeliveryRecorded(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    delivered_at = Timestamp(required=True)
    channel = fields.String(required=True)


class OrderOutcomeRecorded(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(["preserved", "unavailable"]))
    detail = fields.Dict(required=True, metadata=PERSONAL)
    actor = Actor(required=True)


class OrderExtended(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    days = fields.Integer(required=True, validate=validate.Range(min=1))
    expires_at = Timestamp(required=True)
    actor = Actor(required=True)


class OrderReleased(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    reason = fields.String(required=True)
    actor = Actor(required=True)
    notice = fields.String(
        allow_none=True,
        load_default=None,
        metadata={"description": "what the provider is told, in neutral words"},
    )


class OrderCoversRequest(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    issued = fields.Boolean(required=True)
    expires_at = Timestamp(allow_none=True, load_default=None)
    actor = Actor(required=True)


class OrderRequestDropped(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    reason = fields.String(required=True)


class RequestStandingNoted(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)


class RequestStandingOrderNoted(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    order_id = fields.String(required=True)


class RequestStandingChanged(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    state = fields.String(
        required=True, validate=validate.OneOf(["active", "awaiting_requester", "ended"])
    )
    why = fields.String(required=True)


class OrderHeldForMla(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    mla_id = fields.String(required=True)


class OrderHoldLifted(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    mla_id = fields.String(required=True)
    decision = fields.String(required=True)


class OrderExpired(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    expired_at = Timestamp(required=True)


# --- disclosure orders (issue 20) ----------------------------------------------------------
class DisclosureOrderDrafted(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None)
    provider_id = fields.String(required=True)
    identifiers = Identifiers(required=True, metadata=PERSONAL)
    data_types = DataTypes(required=True)
    legal_basis = fields.String(required=True)
    due_by = Timestamp(required=True)
    actor = Actor(required=True)
    emergency = fields.Boolean(
        load_default=False, metadata={"description": "it answers an emergency (P2 Art 9)"}
    )


class DisclosureApprovalRequested(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    reason = fields.String(required=True)
    actor = Actor(required=True)


class DisclosureOrderApproved(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    actor = Actor(required=True)


class DisclosureOrderIssued(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None)
    provider_id = fields.String(required=True)
    identifiers = Identifiers(required=True, metadata=PERSONAL)
    data_types = DataTypes(required=True)
    legal_basis = fields.String(required=True)
    issued_at = Timestamp(required=True)
    due_by = Timestamp(required=True)
    actor = Actor(required=True)
    emergency = fields.Boolean(
        load_default=False, metadata={"description": "it answers an emergency (P2 Art 9)"}
    )


class DisclosureOrderWithdrawn(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    reason = fields.String(required=True)
    notice = fields.String(required=True, metadata={"description": "what the provider is told"})
    actor = Actor(required=True)


class DisclosureReminderDue(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    due_by = Timestamp(required=True)
    offset_hours = fields.Integer(
        required=True, metadata={"description": "the policy's reminder, hours before due_by"}
    )


class DisclosureOverdue(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    due_by = Timestamp(required=True)


class DisclosureAcknowledged(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    acknowledged_at = Timestamp(required=True)


class DisclosureProduced(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    production_id = fields.String(required=True)
    files = fields.List(
        fields.Dict(), required=True, metadata={**PERSONAL, "description": "name, sha256, size"}
    )


class DisclosureUnavailable(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    reason = fields.String(required=True, metadata=PERSONAL)


class DisclosurePrepared(PayloadSchema):
    disclosure_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["production", "art30"]))
    order_id = fields.String(allow_none=True, load_default=None)
    content = fields.Dict(required=True, metadata={**PERSONAL, "description": "Art 30 report"})
    files = fields.List(fields.Dict(), required=True, metadata=PERSONAL)
    actor = Actor(required=True)


class Art30DisclosurePending(PayloadSchema):
    disclosure_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    order_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    country = Country(required=True)
    provider_name = fields.String(required=True)
    details = fields.String(required=True, metadata=PERSONAL)
    reported_at = Timestamp(required=True)


class DisclosureSent(PayloadSchema):
    disclosure_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["production", "art30"]))
    files = fields.List(
        fields.Dict(),
        required=True,
        metadata={**PERSONAL, "description": "production_id, name, sha256, size of each file"},
    )
    sha256s = fields.List(
        fields.String(), required=True, metadata={"description": "what left, file by file"}
    )
    content = fields.Dict(
        required=True,
        metadata={**PERSONAL, "description": "Art 30: country, provider_name, path disclosed"},
    )
    conditions = fields.Dict(
        required=True,
        metadata={
            "description": "use_limited_to, confidential, further_transfer, handling_code "
            "(Art 28(2), P2 Art 9(6))"
        },
    )
    recipient = fields.Dict(
        required=True, metadata={"description": "the requesting authority: country, name"}
    )
    sent_at = Timestamp(required=True)
    actor = Actor(required=True)


class DisclosureWithheld(PayloadSchema):
    disclosure_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["production", "art30"]))
    grounds = fields.List(fields.String(), required=True)
    explanation = fields.String(required=True, metadata=PERSONAL)
    withheld_at = Timestamp(required=True)
    actor = Actor(required=True)


class EmergencyClockStarted(PayloadSchema):
    clock_id = fields.String(required=True)
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_type = fields.String(required=True, validate=validate.OneOf(REQUEST_TYPES))
    counterpart_country = Country(required=True)
    received_at = Timestamp(required=True)
    decide_by = Timestamp(required=True, metadata={"description": "P2 Art 9: the policy's minutes"})


class EmergencyDecided(PayloadSchema):
    clock_id = fields.String(required=True)
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    how = fields.String(required=True, metadata={"description": "order issued, request refused…"})
    decided_at = Timestamp(required=True)
    minutes_taken = fields.Integer(required=True)


class EmergencyDecisionOverdue(PayloadSchema):
    clock_id = fields.String(required=True)
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    counterpart_country = Country(required=True)
    decide_by = Timestamp(required=True)
    level = fields.Integer(
        required=True, metadata={"description": "1: both duty officers; then up the roster"}
    )


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
    request_id = fields.String(allow_none=True, load_default=None)
    provider_id = fields.String(required=True)
    identifiers = Identifiers(required=True, metadata=PERSONAL)
    data_types = DataTypes(required=True)
    legal_basis = fields.String(required=True)
    issued_at = Timestamp(required=True)
    expires_at = Timestamp(
        required=True, allow_none=True, metadata={"description": "null for a disclosure order"}
    )
    channel = fields.String(required=True, metadata={"description": "api inbox or webhook"})
    kind = fields.String(
        load_default="preservation", validate=validate.OneOf(["preservation", "disclosure"])
    )
    due_by = Timestamp(
        allow_none=True,
        load_default=None,
        metadata={"description": "when a disclosure order is to be answered"},
    )
    issued_by = Actor(
        allow_none=True,
        load_default=None,
        metadata={"description": "who issued it: the approving prosecutor where one approved"},
    )
    emergency = fields.Boolean(
        load_default=False, metadata={"description": "it answers an emergency (P2 Art 9)"}
    )
    document = fields.Dict(
        allow_none=True,
        load_default=None,
        metadata={
            **PERSONAL,
            "description": "null: the document is signed beside delivery (OrderDocumentSigned); "
            "orders delivered before carry it here (number, sha256, key_id, signature, pdf_b64)",
        },
    )


class OrderDocumentSigned(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    number = fields.String(required=True, metadata={"description": "PO- or DO-<year>-<8 hex>"})
    sha256 = fields.String(required=True, metadata={"description": "of the PDF bytes"})
    key_id = fields.String(required=True, metadata={"description": "the signing key"})
    signature = fields.String(
        required=True, metadata={"description": "the detached signature (the .sig JSON)"}
    )


class OrderDocumentStored(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    pdf_b64 = fields.String(required=True, metadata={**PERSONAL, "description": "the PDF"})


class ProviderAcknowledgedOrder(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    acknowledged_at = Timestamp(required=True)
    actor = Actor(required=True)


class DataPreserved(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None)
    provider_id = fields.String(required=True)
    note = fields.String(required=True, metadata=PERSONAL)
    records = fields.Integer(allow_none=True, load_default=None)
    preserved_at = Timestamp(required=True)
    actor = Actor(required=True)
    # The end of the period when the provider reported: the foreign CP's deadline for MLA
    # (Art 29(7)). None in events recorded before it was carried.
    expires_at = Timestamp(allow_none=True, load_default=None)


class DataUnavailable(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None)
    provider_id = fields.String(required=True)
    reason = fields.String(required=True)
    reported_at = Timestamp(required=True)
    actor = Actor(required=True)
    kind = fields.String(
        load_default="preservation",
        validate=validate.OneOf(["preservation", "disclosure"]),
        metadata={"description": "the order's kind"},
    )


class DataProduced(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None)
    provider_id = fields.String(required=True)
    production_id = fields.String(required=True)
    files = fields.List(
        fields.Dict(),
        required=True,
        metadata={**PERSONAL, "description": "name, media_type, sha256, size of each file"},
    )
    sha256s = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "each file's SHA-256, as received and checked"},
    )
    note = fields.String(required=True, metadata=PERSONAL)
    produced_at = Timestamp(required=True)
    actor = Actor(required=True)


class ProductionStored(PayloadSchema):
    production_id = fields.String(required=True)
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    contents = fields.Dict(
        required=True, metadata={**PERSONAL, "description": "file name -> bytes in base64"}
    )


class ProductionFileRead(PayloadSchema):
    production_id = fields.String(required=True)
    case_id = fields.String(required=True)
    order_id = fields.String(required=True)
    name = fields.String(required=True, metadata=PERSONAL)
    sha256 = fields.String(required=True, metadata={"description": "the file's digest"})
    read_at = Timestamp(required=True)
    actor = Actor(required=True)


class ProductionExported(PayloadSchema):
    production_id = fields.String(required=True)
    case_id = fields.String(required=True)
    order_id = fields.String(required=True)
    package_sha256 = fields.String(required=True, metadata={"description": "of the ZIP"})
    exported_at = Timestamp(required=True)
    actor = Actor(required=True)


class ForeignProviderReported(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None)
    provider_id = fields.String(required=True)
    country = Country(required=True)
    provider_name = fields.String(required=True)
    details = fields.String(required=True, metadata=PERSONAL)
    reported_at = Timestamp(required=True)
    actor = Actor(required=True)


class WebhookScheduled(PayloadSchema):
    delivery_id = fields.String(required=True)
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    url = fields.String(required=True)
    hook_event = fields.String(required=True)
    body = fields.Dict(required=True, metadata=PERSONAL)
    next_attempt_at = fields.Float(required=True)


class WebhookAttempted(PayloadSchema):
    delivery_id = fields.String(required=True)
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    attempt = fields.Integer(required=True)
    status = fields.Integer(allow_none=True, load_default=None)
    error = fields.String(allow_none=True, load_default=None)
    state = fields.String(
        required=True, validate=validate.OneOf(["pending", "delivered", "failed"])
    )
    next_attempt_at = fields.Float(allow_none=True, load_default=None)


class InboxOrderExtended(PayloadSchema):
    order_id = fields.String(required=True)
    expires_at = Timestamp(required=True)


class InboxOrderClosed(PayloadSchema):
    order_id = fields.String(required=True)
    closed_as = fields.String(
        required=True, validate=validate.OneOf(["released", "expired", "withdrawn"])
    )
    reason = fields.String(allow_none=True, load_default=None)


# --- mla ------------------------------------------------------------------------------------
class MlaExpected(PayloadSchema):
    follow_up_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None)
    order_id = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    due_by = Timestamp(
        required=True, metadata={"description": "MLA must be received/sent before this"}
    )


class FollowUpDueMoved(PayloadSchema):
    follow_up_id = fields.String(required=True)
    case_id = fields.String(required=True)
    order_id = fields.String(required=True)
    due_by = Timestamp(required=True)


class FollowUpClosed(PayloadSchema):
    follow_up_id = fields.String(required=True)
    case_id = fields.String(required=True)
    order_id = fields.String(required=True)
    reason = fields.String(required=True)


class FollowUpLinked(PayloadSchema):
    follow_up_id = fields.String(required=True)
    case_id = fields.String(required=True)
    mla_id = fields.String(required=True)
    mla_status = fields.String(required=True)


class MlaReminderDue(PayloadSchema):
    follow_up_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None)
    order_id = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    offset_days = fields.Integer(required=True)
    days_left = fields.Integer(required=True)
    due_by = Timestamp(required=True)
    covers = fields.List(fields.Integer(), required=True)


class FollowUpOverdue(PayloadSchema):
    follow_up_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None)
    order_id = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    due_by = Timestamp(required=True)


class ExtensionSuggested(PayloadSchema):
    follow_up_id = fields.String(required=True)
    case_id = fields.String(required=True)
    order_id = fields.String(required=True)
    due_by = Timestamp(required=True)
    mla_ids = fields.List(fields.String(), required=True)


class MlaRecorded(PayloadSchema):
    mla_id = fields.String(required=True)
    case_id = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    stage = fields.String(required=True, validate=validate.OneOf(["pre_trial", "trial"]))
    authority = fields.String(allow_none=True, load_default=None)
    reference = fields.String(allow_none=True, load_default=None)
    date = fields.String(allow_none=True, load_default=None)
    order_ids = fields.List(fields.String(), required=True)
    status = fields.String(required=True)
    actor = Actor(required=True)
    kind = fields.String(
        load_default="stored_data",
        validate=validate.OneOf(["stored_data", "realtime_traffic", "interception"]),
        metadata={"description": "Art 31 stored data, Art 33 real-time traffic, Art 34 content"},
    )
    request_id = fields.String(
        allow_none=True, load_default=None, metadata={"description": "intake's request, if any"}
    )
    authorisation = fields.Dict(
        allow_none=True,
        load_default=None,
        metadata={"description": "the judicial authorisation: authority, date, reference"},
    )


class MlaAuthorised(PayloadSchema):
    mla_id = fields.String(required=True)
    case_id = fields.String(required=True)
    kind = fields.String(required=True)
    authorisation = fields.Dict(
        required=True, metadata={"description": "authority, date, reference"}
    )
    actor = Actor(required=True)


class MlaLinkedToRequest(PayloadSchema):
    mla_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)


class MlaStatusChanged(PayloadSchema):
    mla_id = fields.String(required=True)
    case_id = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    status = fields.String(required=True)
    note = fields.String(required=True, metadata=PERSONAL)
    order_ids = fields.List(fields.String(), required=True)
    actor = Actor(required=True)
    production_ids = fields.List(
        fields.String(),
        allow_none=True,
        load_default=list,
        metadata={"description": "produced: the providers' productions that answer it"},
    )


class OrderLinkedToMla(PayloadSchema):
    mla_id = fields.String(required=True)
    case_id = fields.String(required=True)
    order_id = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    mla_status = fields.String(required=True)


class OutgoingFollowUpStarted(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    country = Country(required=True)
    chase_at = Timestamp(required=True)
    cp = fields.String(required=True, validate=validate.OneOf(["police", "prosecution"]))


class OutgoingReceiptNoted(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    at = Timestamp(required=True)


class OurMlaClockStarted(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    due_by = Timestamp(required=True, metadata={"description": "the foreign preservation ends"})


class OutgoingFollowUpClosed(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    reason = fields.String(required=True)


class OutgoingReceiptChaseDue(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    country = Country(required=True)
    chase_at = Timestamp(required=True)
    cp = fields.String(required=True, validate=validate.OneOf(["police", "prosecution"]))


class OurMlaReminderDue(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    country = Country(required=True)
    offset_days = fields.Integer(required=True)
    days_left = fields.Integer(required=True)
    due_by = Timestamp(required=True)
    covers = fields.List(fields.Integer(), required=True)


class OurMlaOverdue(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)
    country = Country(required=True)
    due_by = Timestamp(required=True)


class MlaCaseOpened(PayloadSchema):
    case_id = fields.String(required=True)


class MlaCaseOrderNoted(PayloadSchema):
    case_id = fields.String(required=True)
    order_id = fields.String(required=True)


class MlaCaseRequestNoted(PayloadSchema):
    case_id = fields.String(required=True)
    mla_id = fields.String(required=True)


# --- notification ---
class DutyAlertRaised(PayloadSchema):
    alert_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(REQUEST_TYPES))
    urgency = fields.String(required=True, validate=validate.OneOf(URGENCIES))
    counterpart_country = Country(required=True)
    reason = fields.String(required=True)
    our_reference = fields.String(required=True)


class RequesterNotified(PayloadSchema):
    notice_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    recipient = fields.Nested(AuthoritySchema, required=True)
    subject = fields.String(
        required=True,
        validate=validate.OneOf(
            ["refusal", "art29_6_notice", "art30_disclosure", "production_disclosure", "withdrawal"]
        ),
    )
    text = fields.String(required=True, metadata=PERSONAL)
    channel = fields.String(required=True)


class DutyOfficerAlerted(PayloadSchema):
    alert_id = fields.String(required=True)
    case_id = fields.String(required=True)
    cp = fields.String(required=True, validate=validate.OneOf(["police", "prosecution"]))
    person_id = fields.String(required=True)
    person_name = fields.String(required=True)
    at = Timestamp(required=True)


class EscalationRaised(DutyOfficerAlerted):
    level = fields.Integer(required=True)


class DutyAlertAcknowledged(PayloadSchema):
    alert_id = fields.String(required=True)
    case_id = fields.String(required=True)
    by = fields.String(required=True)
    at = Timestamp(required=True)
    via = fields.String(required=True, validate=validate.OneOf(["console", "link"]))


class MessageQueued(PayloadSchema):
    message_id = fields.String(required=True)
    case_id = fields.String(required=True)
    cause = fields.String(required=True, metadata={"description": "idempotency key"})
    template = fields.String(required=True)
    language = fields.String(required=True)
    audience = fields.String(required=True)
    recipients = fields.List(fields.String(), required=True)
    subject = fields.String(required=True)
    body = fields.String(required=True, metadata=PERSONAL)
    channel = fields.String(required=True, validate=validate.OneOf(["email", "webhook", "inbox"]))


class MessageAttemptFailed(PayloadSchema):
    message_id = fields.String(required=True)
    case_id = fields.String(required=True)
    attempt = fields.Integer(required=True)
    error = fields.String(required=True)
    next_attempt_at = fields.Float(required=True)


class NotificationSent(PayloadSchema):
    message_id = fields.String(required=True)
    case_id = fields.String(required=True)
    attempt = fields.Integer(required=True)
    template = fields.String(required=True)
    request_id = fields.String(
        allow_none=True,
        load_default=None,
        metadata={"description": "the request a receipt confirms (for the figures)"},
    )


class NotificationFailed(PayloadSchema):
    message_id = fields.String(required=True)
    case_id = fields.String(required=True)
    attempt = fields.Integer(required=True)
    error = fields.String(required=True)
    template = fields.String(required=True)


class MessageRead(PayloadSchema):
    message_id = fields.String(required=True)
    case_id = fields.String(required=True)
    username = fields.String(required=True)


class FeedbackDeferralStarted(PayloadSchema):
    request_id = fields.String(required=True)
    case_id = fields.String(required=True)


class FeedbackDeferred(PayloadSchema):
    case_id = fields.String(required=True)
    cause = fields.String(required=True)
    template = fields.String(required=True)
    context = fields.Dict(required=True, metadata=PERSONAL)


class FeedbackReleased(PayloadSchema):
    case_id = fields.String(required=True)
    causes = fields.List(fields.String(), required=True)


class OrderPartiesNoted(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)


class OrderPartyNoted(PayloadSchema):
    order_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)


class RequesterFeedbackEnded(PayloadSchema):
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    why = fields.String(required=True)


class ReceiptAcknowledged(PayloadSchema):
    notice_id = fields.String(required=True)
    case_id = fields.String(required=True)
    request_id = fields.String(required=True)
    recipient = fields.Nested(AuthoritySchema, required=True)
    our_reference = fields.String(required=True)
    channel = fields.String(required=True)


def _contract(
    source: str, schema: type[PayloadSchema], description: str, private: bool = False
) -> EventContract:
    return EventContract(
        name=schema.__name__,
        version=1,
        source=source,
        schema=schema,
        description=description,
        private=private,
    )


def _private(source: str, schema: type[PayloadSchema], description: str) -> EventContract:
    """Bookkeeping kept inside ``source``: declared (its personal fields sealed in the store),
    never published (issue 19, item 4)."""
    return _contract(source, schema, description, private=True)


registry = Registry(
    [
        *DIRECTORY_CONTRACTS,
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
        _contract("intake", CaseLeadAssigned, "Police or prosecution CP was made lead."),
        _contract(
            "intake",
            RelatedRequestJoined,
            "A near-duplicate request was joined to an existing case, flagged for review.",
        ),
        _contract(
            "intake",
            NearDuplicateResolved,
            "A person confirmed the near-duplicate or split it into its own case.",
        ),
        _contract("intake", RequestMovedToCase, "A request was moved to another case."),
        _contract(
            "intake", RequestRefused, "A prosecutor refused the request on Convention grounds."
        ),
        _contract(
            "intake",
            Art296NoticeGiven,
            "The requesting Party is told that preservation will not do (Art 29(6)).",
        ),
        _contract("intake", RequestWithdrawn, "The request was withdrawn (by its Party, or ours)."),
        _contract(
            "intake",
            Art296DecisionRecorded,
            "The requesting Party decided after an Art 29(6) notice: execute or withdraw.",
        ),
        _private("intake", RequestOrderNoted, "An order covers the request."),
        _contract(
            "intake", RequestOrderDeclined, "An officer recorded why the request gets no order."
        ),
        _contract("intake", OutgoingRequestSent, "Our request left for the foreign CP."),
        _contract("intake", ForeignReceiptRecorded, "The foreign CP confirmed receipt."),
        _contract("intake", ForeignAnswerRecorded, "The foreign CP answered our request."),
        _contract("intake", RequestClosed, "The request closed with its case."),
        _contract("intake", CaseClosed, "The case was closed; nothing of it still ran."),
        _contract("intake", CaseReopened, "A new request joined the closed case: open again."),
        _contract(
            "intake",
            RequestJoinedCase,
            "Another Party's request about the same data, or an extension, joined the case.",
        ),
        _private("intake", IdentifierIndexStarted, "An identifier was seen for the first time."),
        _private("intake", IdentifierSeen, "A request named an identifier (near-duplicate index)."),
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
        _contract("preservation", OrderDeliveryRecorded, "The order is in the provider's inbox."),
        _contract(
            "preservation",
            OrderOutcomeRecorded,
            "The provider preserved the data, or they were not available.",
        ),
        _contract("preservation", OrderExtended, "The preservation period was extended."),
        _contract("preservation", OrderReleased, "The provider may release the data."),
        _contract(
            "preservation",
            OrderCoversRequest,
            "The order also preserves for another request (another Party, an extension).",
        ),
        _contract(
            "preservation",
            OrderRequestDropped,
            "A request no longer needs the order's data (refused, withdrawn).",
        ),
        _private("preservation", RequestStandingNoted, "Bookkeeping: a request's standing."),
        _private(
            "preservation", RequestStandingOrderNoted, "Bookkeeping: an order of the request."
        ),
        _private(
            "preservation",
            RequestStandingChanged,
            "Whether new orders may be issued for a request (Art 29(6), refusal, withdrawal).",
        ),
        _contract(
            "preservation",
            OrderHeldForMla,
            "An MLA request was received: no expiry until it is decided (Art 29(7)).",
        ),
        _contract("preservation", OrderHoldLifted, "The MLA request was decided."),
        _contract("preservation", OrderExpired, "The preservation period ended."),
        _contract("preservation", DisclosureOrderDrafted, "A disclosure order was drafted."),
        _contract(
            "preservation",
            DisclosureApprovalRequested,
            "National policy requires a prosecutor's approval before the disclosure order "
            "is issued.",
        ),
        _contract("preservation", DisclosureOrderApproved, "A prosecutor approved it."),
        _contract(
            "preservation",
            DisclosureOrderIssued,
            "The disclosure order was issued to the provider, to answer by due_by.",
        ),
        _contract(
            "preservation",
            DisclosureOrderWithdrawn,
            "The disclosure order ended unanswered (its request refused or withdrawn).",
        ),
        _contract(
            "preservation",
            DisclosureReminderDue,
            "The disclosure order is unanswered and its due-by nears: the provider and our "
            "duty prosecutor are reminded.",
        ),
        _contract(
            "preservation",
            DisclosureOverdue,
            "The disclosure order's due-by passed unanswered: escalated to both CPs' duty "
            "officers, the provider told.",
        ),
        _private(
            "preservation", DisclosureAcknowledged, "Bookkeeping: the provider has the order."
        ),
        _private("preservation", DisclosureProduced, "Bookkeeping: the provider produced."),
        _private("preservation", DisclosurePrepared, "What may be disclosed to the Party."),
        _contract(
            "preservation",
            EmergencyClockStarted,
            "An emergency request arrived: it must be decided within the policy's minutes.",
        ),
        _contract(
            "preservation", EmergencyDecided, "The emergency was decided: its clock stopped."
        ),
        _contract(
            "preservation",
            EmergencyDecisionOverdue,
            "An emergency is still undecided after its minutes: escalated along the roster.",
        ),
        _contract(
            "preservation",
            Art30DisclosurePending,
            "A provider's Art 30 report waits for a prosecutor before anything leaves.",
        ),
        _contract(
            "preservation",
            DisclosureSent,
            "Data left for the requesting Party under conditions (Art 28(2), P2 Art 9(6)).",
        ),
        _contract(
            "preservation",
            DisclosureWithheld,
            "A disclosure was withheld (Art 30(2) grounds, or its request ended).",
        ),
        _private(
            "preservation", DisclosureUnavailable, "Bookkeeping: the provider cannot produce."
        ),
        _contract("isp_liaison", DataPreserved, "The provider preserved the data."),
        _contract("isp_liaison", DataUnavailable, "The provider does not have the data."),
        _contract(
            "isp_liaison",
            DataProduced,
            "The provider produced files for a disclosure order, each checked by its SHA-256.",
        ),
        _private("isp_liaison", ProductionStored, "The produced bytes, sealed under the case key."),
        _contract(
            "isp_liaison",
            ProductionFileRead,
            "An officer downloaded a produced file (chain of custody, with its SHA-256).",
        ),
        _contract(
            "isp_liaison",
            ProductionExported,
            "A production was exported for a court: files, manifest, timeline, signed.",
        ),
        _contract(
            "isp_liaison",
            ForeignProviderReported,
            "A provider in another State was in the chain (Art 30).",
        ),
        _contract(
            "isp_liaison", WebhookScheduled, "A signed push to the provider's webhook is due."
        ),
        _contract(
            "isp_liaison", WebhookAttempted, "A webhook push was tried: delivered, retry, failed."
        ),
        _private("isp_liaison", InboxOrderExtended, "The inbox shows the new expiry."),
        _private("isp_liaison", InboxOrderClosed, "The inbox shows the order closed."),
        _contract(
            "mla", MlaAuthorised, "The judicial authorisation an MLA request is executed under."
        ),
        _contract("mla", MlaLinkedToRequest, "An MLA record joined the request intake registered."),
        _contract("mla", FollowUpDueMoved, "The order was extended: MLA is due later."),
        _contract("mla", FollowUpClosed, "No MLA is needed any more for this order."),
        _contract("mla", FollowUpLinked, "An MLA request answers this follow-up."),
        _contract(
            "mla",
            MlaReminderDue,
            "The order expires soon and no MLA request is recorded: remind (days before).",
        ),
        _contract(
            "mla", FollowUpOverdue, "The order expired (or is about to) without MLA: overdue."
        ),
        _contract(
            "mla",
            ExtensionSuggested,
            "MLA is under way but the order expires soon: extend it (Art 29(7)).",
        ),
        _contract("mla", MlaRecorded, "An MLA request was recorded and linked to the case."),
        _contract("mla", MlaStatusChanged, "An MLA request moved on."),
        _contract(
            "mla",
            OrderLinkedToMla,
            "An order issued after its case's MLA request arrived now belongs to it too.",
        ),
        _private("mla", OutgoingFollowUpStarted, "Our request left: its receipt is awaited."),
        _private("mla", OutgoingReceiptNoted, "The foreign CP confirmed receipt of ours."),
        _contract(
            "mla",
            OurMlaClockStarted,
            "Preserved abroad until due_by: our MLA request must be sent before then.",
        ),
        _contract("mla", OutgoingFollowUpClosed, "Nothing more to chase for our request."),
        _contract(
            "mla", OutgoingReceiptChaseDue, "No foreign receipt in time: our duty officer chases."
        ),
        _contract(
            "mla", OurMlaReminderDue, "Preserved abroad, no MLA of ours yet: remind (days before)."
        ),
        _contract("mla", OurMlaOverdue, "The foreign preservation ended without our MLA request."),
        _private("mla", MlaCaseOpened, "Bookkeeping: the MLA side of a case began."),
        _private("mla", MlaCaseOrderNoted, "Bookkeeping: an order of the case awaits MLA."),
        _private("mla", MlaCaseRequestNoted, "Bookkeeping: an MLA request of the case."),
        _contract("isp_liaison", ProviderRegistered, "A provider joined the directory."),
        _contract("isp_liaison", OrderDelivered, "The order reached the provider's inbox."),
        _contract(
            "isp_liaison",
            OrderDocumentSigned,
            "The order's PDF was rendered and signed, beside delivery; its digest recorded.",
        ),
        _private("isp_liaison", OrderDocumentStored, "The signed PDF, kept for the provider."),
        _contract("isp_liaison", ProviderAcknowledgedOrder, "The provider acknowledged the order."),
        _contract(
            "mla",
            MlaExpected,
            "A formal MLA request is expected before the preservation expires.",
        ),
        _contract(
            "notification",
            DutyAlertRaised,
            "The duty officer must act now (an emergency request, P2 Art 9).",
        ),
        _contract(
            "notification",
            RequesterNotified,
            "The requesting CP was told of a refusal or an Art 29(6) notice.",
        ),
        _contract("notification", DutyOfficerAlerted, "The duty officer was alerted."),
        _contract(
            "notification",
            EscalationRaised,
            "Not acknowledged in time: the next person in the chain was alerted.",
        ),
        _contract("notification", DutyAlertAcknowledged, "Someone took the alert."),
        _contract("notification", MessageQueued, "A message is owed (one per cause)."),
        _contract("notification", MessageAttemptFailed, "A delivery attempt failed; retry."),
        _contract("notification", NotificationSent, "The message was delivered."),
        _contract("notification", NotificationFailed, "The last attempt failed: the dead letter."),
        _private("notification", FeedbackDeferralStarted, "Feedback arrived before its request."),
        _private("notification", FeedbackDeferred, "Feedback kept until the receipt exists."),
        _private("notification", FeedbackReleased, "Kept feedback was queued."),
        _private("notification", OrderPartiesNoted, "Bookkeeping: an order's other Parties."),
        _private("notification", OrderPartyNoted, "Bookkeeping: another Party of the order."),
        _private(
            "notification",
            RequesterFeedbackEnded,
            "Refused or withdrawn: nothing more (no disclosure) leaves for the request.",
        ),
        _contract("notification", MessageRead, "A message was read in the console inbox."),
        _contract(
            "notification",
            ReceiptAcknowledged,
            "Receipt of an incoming request was confirmed to the requesting CP.",
        ),
    ]
)
