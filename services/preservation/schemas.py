"""API shape of ``POST /api/v1/cases/{case_id}/preservation-orders``."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from services.intake.schemas import Identifier


class OrderRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    provider_id = fields.String(required=True, validate=validate.Length(min=1))
    identifiers = fields.List(fields.Nested(Identifier), load_default=list)
    data_types = fields.List(
        fields.String(validate=validate.OneOf(["subscriber", "traffic", "content"])),
        load_default=list,
    )
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
