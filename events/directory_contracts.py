"""Event contracts of intake's directory of foreign 24/7 contact points.

Kept apart from :mod:`events.catalogue` until they are added to its registry; the schemas
match the events of :class:`services.intake.directory.ForeignContactPoint` field for field.
"""

from __future__ import annotations

from marshmallow import fields, validate

from cp247.validation import FullMatch, email_address
from events.contract import EventContract
from events.fields import Actor, Country, PayloadSchema, Timestamp

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
# Where we write and whom we believe: changed only when a second officer confirms.
ROUTE_FIELDS = ["institutional_email", "personal_emails", "phones"]
# Entries listed or changed before actors were recorded have none.
RECORDED_ACTOR = {"description": "who did it; null only on events recorded before 2026-12"}
# As loose as the directory's own check: one @, no spaces, a dot in the domain.
EMAIL = email_address(error="not an e-mail address")


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
        fields.String(validate=FullMatch(r"\+[0-9]{8,15}", example="+40211234567")),
        required=True,
        metadata={"description": "E.164"},
    )
    office_hours = fields.String(
        required=True, metadata={"description": "free text, e.g. Mon-Fri 08:00-16:00"}
    )
    time_zone = fields.String(required=True, metadata={"description": "IANA, e.g. Europe/Oslo"})
    languages = fields.List(
        fields.String(validate=FullMatch(r"[a-z]{2}", example="en")),
        required=True,
        metadata={"description": "ISO 639-1"},
    )
    required_format = fields.String(
        required=True,
        metadata={"description": "form they insist on, e.g. signed letterhead with stamp"},
    )
    can_order_preservation = fields.Boolean(required=True)
    actor = Actor(allow_none=True, load_default=None, metadata=RECORDED_ACTOR)


class ContactPointUpdated(PayloadSchema):
    country = Country(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CONTACT_POINT_KINDS))
    # Values are checked by the directory before recording; the keys say what may change.
    changes = fields.Dict(
        keys=fields.String(validate=validate.OneOf(CHANGEABLE_FIELDS)),
        required=True,
        metadata={"description": "only the fields that changed, with their new values"},
    )
    actor = Actor(allow_none=True, load_default=None, metadata=RECORDED_ACTOR)


def _route_changes(description: str) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf(ROUTE_FIELDS)),
        required=True,
        metadata={"description": description},
    )


class ContactPointChangeProposed(PayloadSchema):
    country = Country(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CONTACT_POINT_KINDS))
    change_id = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "the unit's name"})
    changes = _route_changes("new addresses or phones, not in effect until confirmed")
    previous = _route_changes("the values in effect, which stay until confirmation")
    notify = fields.String(
        required=True,
        validate=EMAIL,
        metadata={"description": "the institutional address in effect: told of the proposal"},
    )
    languages = fields.List(fields.String(), required=True, metadata={"description": "ISO 639-1"})
    proposed_at = Timestamp(required=True)
    actor = Actor(required=True)


class ContactPointChangeConfirmed(PayloadSchema):
    country = Country(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CONTACT_POINT_KINDS))
    change_id = fields.String(required=True)
    changes = _route_changes("the addresses or phones in effect from now")
    proposed_by = Actor(required=True)
    actor = Actor(required=True, metadata={"description": "the second officer"})


class ContactPointChangeRejected(PayloadSchema):
    country = Country(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CONTACT_POINT_KINDS))
    change_id = fields.String(required=True)
    withdrawn = fields.Boolean(
        required=True, metadata={"description": "rejected by its own proposer"}
    )
    proposed_by = Actor(required=True)
    actor = Actor(required=True)


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
    EventContract(
        name="ContactPointChangeProposed",
        version=1,
        source="intake",
        schema=ContactPointChangeProposed,
        description="New addresses or phones of a contact point were proposed; the address "
        "in effect is told, and another officer must confirm them.",
    ),
    EventContract(
        name="ContactPointChangeConfirmed",
        version=1,
        source="intake",
        schema=ContactPointChangeConfirmed,
        description="Another officer than its proposer confirmed the change: it is in effect.",
    ),
    EventContract(
        name="ContactPointChangeRejected",
        version=1,
        source="intake",
        schema=ContactPointChangeRejected,
        description="A proposed change of addresses or phones was rejected or withdrawn.",
    ),
]
