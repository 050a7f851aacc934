"""API shapes of ``POST /api/v1/cases/{case_id}/preservation-orders`` and
``.../disclosure-orders``."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from services.intake.schemas import Identifier

DATA_TYPES = ["subscriber", "traffic", "content"]


class OrderRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    provider_id = fields.String(required=True, validate=validate.Length(min=1))
    identifiers = fields.List(fields.Nested(Identifier), load_default=list)
    data_types = fields.List(fields.String(validate=validate.OneOf(DATA_TYPES)), load_default=list)
    period_days = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=3650)
    )
    direction = fields.String(
        load_default="incoming", validate=validate.OneOf(["incoming", "outgoing"])
    )
    mla_intended = fields.Boolean(load_default=None, allow_none=True)
    request_id = fields.String(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "the request of the case it preserves for (default: every "
            "incoming preservation request of the case still open)"
        },
    )


class DisclosureOrderRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    provider_id = fields.String(required=True, validate=validate.Length(min=1))
    request_id = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "the request of the case it answers (default: none named)"},
    )
    identifiers = fields.List(
        fields.Nested(Identifier), required=True, validate=validate.Length(min=1, max=50)
    )
    data_types = fields.List(
        fields.String(validate=validate.OneOf(DATA_TYPES)),
        required=True,
        validate=validate.Length(min=1),
    )
    legal_basis = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "the national provision relied on (default: Art 18 / Art 25)"},
    )
    due_by = fields.String(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "ISO 8601 with a UTC offset; default from the national policy "
            "(P2 Art 8(4): 20 days subscriber, 45 days traffic)"
        },
    )
