"""Field types shared by the event schemas: JSON-pure, so load and dump are the identity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from cp247.validation import country_code

# Field metadata: data about the people in a case (identifiers, free text, documents). Stored
# sealed under the case's own key, so retention can erase it (cp247.runtime.sealing).
PERSONAL: dict[str, Any] = {"personal": True}


def _iso_with_offset(value: str) -> None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError("not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise ValidationError("timestamp has no UTC offset")


def Timestamp(**kwargs: Any) -> fields.String:  # noqa: N802 - reads like a field class
    """An ISO 8601 timestamp string that must carry an offset."""
    return fields.String(validate=_iso_with_offset, **kwargs)


def Country(**kwargs: Any) -> fields.String:  # noqa: N802
    """ISO 3166-1 alpha-2 country code."""
    return fields.String(validate=country_code(), **kwargs)


class PayloadSchema(Schema):
    """Base of every event payload: unknown fields are a contract violation."""

    class Meta:
        unknown = RAISE


class ActorSchema(PayloadSchema):
    """Who caused an event: a user of one of the two CPs, a provider, or a service."""

    username = fields.String(required=True)
    role = fields.String(required=True)


class IdentifierSchema(PayloadSchema):
    kind = fields.String(
        required=True, validate=validate.OneOf(["ip", "email", "account", "domain", "phone", "url"])
    )
    value = fields.String(required=True)
    port = fields.Integer(allow_none=True, load_default=None, dump_default=None)
    observed_at = fields.String(allow_none=True, load_default=None, metadata={"description": "UTC"})
    observed_at_text = fields.String(
        allow_none=True, load_default=None, metadata={"description": "as the requester wrote it"}
    )
    service = fields.String(allow_none=True, load_default=None)
    observed_at_zone = fields.String(
        allow_none=True,
        load_default=None,
        metadata={"description": "zone a local time was read in"},
    )
    value_original = fields.String(
        allow_none=True, load_default=None, metadata={"description": "as written, if normalised"}
    )
    flags = fields.List(
        fields.String(),
        load_default=list,
        metadata={"description": "e.g. private, documentation, shared_cgnat"},
    )


class AuthoritySchema(PayloadSchema):
    """A requesting or responsible authority as recorded on the request."""

    country = Country(required=True)
    contact_point = fields.String(allow_none=True, load_default=None)
    person = fields.String(allow_none=True, load_default=None)
    email = fields.String(allow_none=True, load_default=None)
    reference = fields.String(allow_none=True, load_default=None)
    time_zone = fields.String(allow_none=True, load_default=None)
    city = fields.String(allow_none=True, load_default=None)
    phone = fields.String(allow_none=True, load_default=None)
    fax = fields.String(allow_none=True, load_default=None)
    date = fields.String(allow_none=True, load_default=None)


def Actor(**kwargs: Any) -> fields.Nested:  # noqa: N802
    return fields.Nested(ActorSchema, **kwargs)


def Identifiers(**kwargs: Any) -> fields.List:  # noqa: N802
    return fields.List(fields.Nested(IdentifierSchema), **kwargs)


def DataTypes(**kwargs: Any) -> fields.List:  # noqa: N802
    return fields.List(
        fields.String(validate=validate.OneOf(["subscriber", "traffic", "content"])), **kwargs
    )
