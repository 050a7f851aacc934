"""The API shape of a request (``POST /api/v1/requests``), checklist-shaped as in API.md.

Only the shape is enforced here; what Art 29(2) makes mandatory is the checklist's job
(:mod:`services.intake.checklist`), so that missing items are reported by their letters.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from cp247.validation import country_code
from events.catalogue import DIRECTIONS, REQUEST_TYPES, URGENCIES

COUNTRY = country_code(error="must be an ISO 3166-1 alpha-2 code, e.g. RO")


def Text(max_length: int = 4000, **kwargs: Any) -> fields.String:  # noqa: N802
    """An optional free-text field with an upper bound (hostile bodies are refused, not stored)."""
    kwargs.setdefault("load_default", None)
    kwargs.setdefault("allow_none", True)
    return fields.String(validate=validate.Length(max=max_length), **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class RequestingAuthority(_Strict):
    country = fields.String(required=True, validate=COUNTRY)
    contact_point = Text(200)
    person = Text(200)
    city = Text(200)
    phone = Text(200)
    fax = Text(200)
    email = Text(200)
    reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    date = Text(200)
    time_zone = Text(200)


class ResponsibleAuthority(_Strict):
    name = Text(200)
    contact = Text(200)
    case_number = Text(200)


class Offence(_Strict):
    description = Text(20000)
    provisions = Text(20000)
    max_penalty = Text(200)
    summary_of_facts = Text(20000)
    related_requests = fields.List(
        fields.String(validate=validate.Length(max=200)),
        load_default=list,
        validate=validate.Length(max=100),
    )
    convention_articles = fields.List(
        fields.Integer(validate=validate.Range(min=2, max=11)),
        load_default=list,
        validate=validate.Length(max=10),
        metadata={"description": "the Convention offences concerned, Arts 2-11, e.g. [2, 8]"},
    )


class Identifier(_Strict):
    kind = fields.String(
        required=True, validate=validate.OneOf(["ip", "email", "account", "domain", "phone", "url"])
    )
    value = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    port = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=0, max=65535)
    )
    observed_at = Text(200)
    service = Text(200)


class Custodian(_Strict):
    provider_id = Text(200)
    name = Text(200)
    country = fields.String(load_default=None, allow_none=True, validate=COUNTRY)


class Data(_Strict):
    types = fields.List(
        fields.String(validate=validate.OneOf(["subscriber", "traffic", "content"])),
        load_default=list,
    )
    relationship_to_offence = Text(20000)
    identifiers = fields.List(
        fields.Nested(Identifier), load_default=list, validate=validate.Length(max=500)
    )
    custodian = fields.Nested(Custodian, load_default=None, allow_none=True)
    period_days = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=3650)
    )


class FollowUp(_Strict):
    partial_disclosure_requested = fields.Boolean(load_default=None, allow_none=True)
    feedback_requested = fields.Boolean(load_default=None, allow_none=True)


class Emergency(_Strict):
    """P2 Art 9: the imminent risk that justifies emergency disclosure."""

    risk = Text(4000, metadata={"description": "the imminent risk to life or safety"})
    persons_at_risk = Text(4000)
    deadline = Text(200, metadata={"description": "when it is too late, ISO 8601"})


class RequestSchema(_Strict):
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    received_at = fields.String(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "when the request arrived (ISO 8601 with its zone), if earlier than "
            "its registration: a fax typed in an hour late; left out: the registration time",
            "format": "date-time",
        },
    )
    type = fields.String(required=True, validate=validate.OneOf(REQUEST_TYPES))
    urgency = fields.String(load_default="routine", validate=validate.OneOf(URGENCIES))
    received_via = fields.String(
        load_default="api", validate=validate.OneOf(["email", "fax", "phone", "portal", "api"])
    )
    requesting_authority = fields.Nested(RequestingAuthority, required=True)
    responsible_authority = fields.Nested(ResponsibleAuthority, load_default=None, allow_none=True)
    offence = fields.Nested(Offence, load_default=None, allow_none=True)
    data = fields.Nested(Data, load_default=None, allow_none=True)
    necessity = Text(20000)
    mla_intended = fields.Boolean(load_default=None, allow_none=True)
    follow_up = fields.Nested(FollowUp, load_default=None, allow_none=True)
    counterpart_country = fields.String(load_default=None, allow_none=True, validate=COUNTRY)
    emergency = fields.Nested(Emergency, load_default=None, allow_none=True)
    status = fields.String(
        load_default="new",
        validate=validate.OneOf(["new", "extension"]),
        metadata={"description": "new, or an extension of an earlier request"},
    )
    previous_reference = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "for an extension: the requester's reference of the earlier one"},
    )
