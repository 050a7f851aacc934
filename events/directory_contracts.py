"""Event contracts of intake's directory of foreign 24/7 contact points.

Kept apart from :mod:`events.catalogue` until they are added to its registry; the schemas
match the events of :class:`services.intake.directory.ForeignContactPoint` field for field.
"""

from __future__ import annotations

from marshmallow import fields, validate

from events.contract import EventContract
from events.fields import Country, PayloadSchema

CONTACT_POINT_KINDS = ["police", "prosecution", "hybrid"]
CHANGEABLE_FIELDS = [
    "name",
    "institutional_email",
    "personal_emails",
    "phones",
    "office_hours",
    "time_zone",
    "languages",
    "required_format",
    "can_order_preservation",
]
# As loose as the directory's own check: one @, no spaces, a dot in the domain.
EMAIL = validate.Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", error="not an e-mail address")


class ContactPointListed(PayloadSchema):
    country = Country(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CONTACT_POINT_KINDS))
    name = fields.String(required=True, metadata={"description": "the unit's name"})
    institutional_email = fields.String(required=True, validate=EMAIL)
    personal_emails = fields.List(
        fields.String(validate=EMAIL),
        required=True,
        metadata={"description": "personal addresses at the institution"},
    )
    phones = fields.List(
        fields.String(validate=validate.Regexp(r"^\+[0-9]{8,15}$")),
        required=True,
        metadata={"description": "E.164"},
    )
    office_hours = fields.String(
        required=True, metadata={"description": "free text, e.g. Mon-Fri 08:00-16:00"}
    )
    time_zone = fields.String(required=True, metadata={"description": "IANA, e.g. Europe/Oslo"})
    languages = fields.List(
        fields.String(validate=validate.Regexp(r"^[a-z]{2}$")),
        required=True,
        metadata={"description": "ISO 639-1"},
    )
    required_format = fields.String(
        required=True,
        metadata={"description": "form they insist on, e.g. signed letterhead with stamp"},
    )
    can_order_preservation = fields.Boolean(required=True)


class ContactPointUpdated(PayloadSchema):
    country = Country(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CONTACT_POINT_KINDS))
    # Values are checked by the directory before recording; the keys say what may change.
    changes = fields.Dict(
        keys=fields.String(validate=validate.OneOf(CHANGEABLE_FIELDS)),
        required=True,
        metadata={"description": "only the fields that changed, with their new values"},
    )


CONTRACTS: list[EventContract] = [
    EventContract(
        name="ContactPointListed",
        version=1,
        source="intake",
        schema=ContactPointListed,
        description="A foreign 24/7 contact point was added to the directory.",
    ),
    EventContract(
        name="ContactPointUpdated",
        version=1,
        source="intake",
        schema=ContactPointUpdated,
        description="Some details of a foreign 24/7 contact point in the directory changed.",
    ),
]
