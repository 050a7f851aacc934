"""API shapes of ``POST /api/v1/cases/{case_id}/preservation-orders``,
``.../disclosure-orders`` and of what is disclosed to the requesting Party."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from cp247.validation import country_code
from services.intake.domain import ART29_5_GROUNDS as ART30_2_GROUNDS
from services.intake.schemas import Identifier
from services.preservation.transmission import FURTHER_TRANSFER

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


class ConditionsSchema(Schema):
    """The conditions the requesting Party receives the data under (Art 28(2), P2 Art 9(6))."""

    class Meta:
        unknown = RAISE

    use_limited_to = fields.String(
        required=True,
        validate=validate.Length(min=3, max=2000),
        metadata={"description": "the investigation or proceedings the data may be used for"},
    )
    confidential = fields.Boolean(
        required=True, metadata={"description": "the data and the request are kept confidential"}
    )
    further_transfer = fields.String(required=True, validate=validate.OneOf(FURTHER_TRANSFER))
    handling_code = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "e.g. a TLP marking, as agreed between the CPs"},
    )


class TransmissionRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    production_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(min=1, max=20),
    )
    conditions = fields.Nested(ConditionsSchema, required=True)


class Art30ApprovalSchema(Schema):
    """What of the provider's report is disclosed: by default all of it, or edited down to
    what identifies the other provider and the path (Art 30(1))."""

    class Meta:
        unknown = RAISE

    country = fields.String(validate=country_code())
    provider_name = fields.String(validate=validate.Length(min=1, max=200))
    path = fields.String(allow_none=True, validate=validate.Length(max=4000))
    conditions = fields.Nested(ConditionsSchema, load_default=None, allow_none=True)


class WithholdSchema(Schema):
    class Meta:
        unknown = RAISE

    grounds = fields.Raw(
        required=True,
        metadata={"description": "one or more Art 30(2) grounds: " + ", ".join(ART30_2_GROUNDS)},
    )
    explanation = fields.String(load_default="", validate=validate.Length(max=4000))
