"""The API shape of a request (``POST /api/v1/requests``), checklist-shaped as in API.md.

Only the shape is enforced here; what Art 29(2) makes mandatory is the checklist's job
(:mod:`services.intake.checklist`), so that missing items are reported by their letters.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from events.catalogue import DIRECTIONS, REQUEST_TYPES, URGENCIES

COUNTRY = validate.Regexp(r"^[A-Z]{2}$", error="must be an ISO 3166-1 alpha-2 code, e.g. RO")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class RequestingAuthority(_Strict):
    country = fields.String(required=True, validate=COUNTRY)
    contact_point = fields.String(load_default=None, allow_none=True)
    person = fields.String(load_default=None, allow_none=True)
    city = fields.String(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)
    fax = fields.String(load_default=None, allow_none=True)
    email = fields.String(load_default=None, allow_none=True)
    reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    date = fields.String(load_default=None, allow_none=True)
    time_zone = fields.String(load_default=None, allow_none=True)


class ResponsibleAuthority(_Strict):
    name = fields.String(load_default=None, allow_none=True)
    contact = fields.String(load_default=None, allow_none=True)
    case_number = fields.String(load_default=None, allow_none=True)


class Offence(_Strict):
    description = fields.String(load_default=None, allow_none=True)
    provisions = fields.String(load_default=None, allow_none=True)
    max_penalty = fields.String(load_default=None, allow_none=True)
    summary_of_facts = fields.String(load_default=None, allow_none=True)
    related_requests = fields.List(fields.String(), load_default=list)


class Identifier(_Strict):
    kind = fields.String(
        required=True, validate=validate.OneOf(["ip", "email", "account", "domain", "phone", "url"])
    )
    value = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    port = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=0, max=65535)
    )
    observed_at = fields.String(load_default=None, allow_none=True)
    service = fields.String(load_default=None, allow_none=True)


class Custodian(_Strict):
    provider_id = fields.String(load_default=None, allow_none=True)
    name = fields.String(load_default=None, allow_none=True)
    country = fields.String(load_default=None, allow_none=True, validate=COUNTRY)


class Data(_Strict):
    types = fields.List(
        fields.String(validate=validate.OneOf(["subscriber", "traffic", "content"])),
        load_default=list,
    )
    relationship_to_offence = fields.String(load_default=None, allow_none=True)
    identifiers = fields.List(fields.Nested(Identifier), load_default=list)
    custodian = fields.Nested(Custodian, load_default=None, allow_none=True)
    period_days = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=3650)
    )


class FollowUp(_Strict):
    partial_disclosure_requested = fields.Boolean(load_default=None, allow_none=True)
    feedback_requested = fields.Boolean(load_default=None, allow_none=True)


class RequestSchema(_Strict):
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    type = fields.String(required=True, validate=validate.OneOf(REQUEST_TYPES))
    urgency = fields.String(load_default="routine", validate=validate.OneOf(URGENCIES))
    received_via = fields.String(
        load_default="api", validate=validate.OneOf(["email", "fax", "phone", "portal", "api"])
    )
    requesting_authority = fields.Nested(RequestingAuthority, required=True)
    responsible_authority = fields.Nested(ResponsibleAuthority, load_default=None, allow_none=True)
    offence = fields.Nested(Offence, load_default=None, allow_none=True)
    data = fields.Nested(Data, load_default=None, allow_none=True)
    necessity = fields.String(load_default=None, allow_none=True)
    mla_intended = fields.Boolean(load_default=None, allow_none=True)
    follow_up = fields.Nested(FollowUp, load_default=None, allow_none=True)
    counterpart_country = fields.String(load_default=None, allow_none=True, validate=COUNTRY)
