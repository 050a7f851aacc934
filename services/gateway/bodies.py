"""The bodies of the smaller commands, as the OpenAPI document describes them.

The two large bodies (a request, an officer's preservation order) are validated with their
own marshmallow schemas in intake and preservation. The smaller ones are checked field by
field by the service that owns them (it names every wrong field in a ``422``); the schemas
here describe exactly what those checks accept, built from the same constants, so that the
document (and a client or fuzzer generating from it) says what the services do.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from cp247.validation import FullMatch, country_code, email_address
from services.intake.directory import KINDS
from services.intake.domain import (
    ANSWER_OUTCOMES,
    ART29_6_DECISIONS,
    ART29_6_REASONS,
    CHANNELS,
    LEADS,
    REFUSAL_GROUNDS,
)
from services.isp_liaison import production
from services.mla.app import DIRECTIONS as MLA_DIRECTIONS
from services.mla.app import KINDS as MLA_KINDS
from services.mla.app import STAGES as MLA_STAGES
from services.mla.app import STATUSES as MLA_STATUSES

COUNTRY = country_code()


def _not_blank(value: str) -> None:
    """Text that says something: not empty, not only white space."""
    if not value.strip():
        raise ValidationError("required text")


def _text(maximum: int | None = None, **kwargs: Any) -> fields.String:
    """Optional free text (``null`` or left out is the same as empty)."""
    return fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=maximum), **kwargs
    )


def _required_text(maximum: int | None = None, **kwargs: Any) -> fields.String:
    """Text that must say something (not only spaces)."""
    return fields.String(
        required=True, validate=[validate.Length(min=1, max=maximum), _not_blank], **kwargs
    )


class _Body(Schema):
    class Meta:
        unknown = EXCLUDE  # the services read the fields they know and ignore the rest


class AlertLinkBody(_Body):
    token = fields.String(
        required=True, metadata={"description": "the signed token of the alert e-mail's link"}
    )


class LoginBody(_Body):
    username = fields.String(required=True)
    password = fields.String(required=True)
    totp = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "the 6-digit code of the authenticator app (console roles)"},
    )


class ExtendBody(_Body):
    days = fields.Integer(
        required=True,
        validate=validate.Range(min=1),
        metadata={"description": "days added; all extensions within the policy's maximum"},
    )


class ReleaseBody(_Body):
    reason = _required_text()


class PreservedBody(_Body):
    note = _text(4000)
    records = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=0), strict=True
    )


class UnavailableBody(_Body):
    reason = _required_text(4000)


class ForeignProviderBody(_Body):
    country = fields.String(required=True, validate=COUNTRY)
    provider_name = _required_text(200)
    details = _text(4000)


class MlaAuthorisationBody(_Body):
    authority = _required_text(500, metadata={"description": "the court or judge"})
    date = fields.String(
        required=True,
        validate=FullMatch(r"\d{4}-\d{2}-\d{2}", example="2026-12-01"),
        metadata={"description": "YYYY-MM-DD, not in the future"},
    )
    reference = _required_text(500)


class MlaBody(_Body):
    direction = fields.String(required=True, validate=validate.OneOf(MLA_DIRECTIONS))
    kind = fields.String(
        load_default="stored_data",
        allow_none=True,
        validate=validate.OneOf(MLA_KINDS),
        metadata={"description": "stored_data (Art 31), realtime_traffic (33), interception (34)"},
    )
    authority = _text(500, metadata={"description": "default: by stage, from national policy"})
    reference = _text(500)
    stage = fields.String(
        load_default="pre_trial", allow_none=True, validate=validate.OneOf(MLA_STAGES)
    )
    date = _text(500)
    request_id = _text(500, metadata={"description": "the request intake registered, if any"})
    authorisation = fields.Nested(MlaAuthorisationBody, allow_none=True, load_default=None)


class MlaStatusBody(_Body):
    status = fields.String(required=True, validate=validate.OneOf(MLA_STATUSES))
    note = _text(4000)
    production_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        load_default=list,
        allow_none=True,
        metadata={"description": "with produced: the productions (of the case) that answer it"},
    )


class LeadBody(_Body):
    lead = fields.String(required=True, validate=validate.OneOf(LEADS))


class NearDuplicateBody(_Body):
    resolution = fields.String(required=True, validate=validate.OneOf(("confirmed", "split")))


class RefusalBody(_Body):
    grounds = fields.List(
        fields.String(validate=validate.OneOf(sorted(REFUSAL_GROUNDS))),
        required=True,
        validate=validate.Length(min=1),
    )
    explanation = _required_text()


class Art296NoticeBody(_Body):
    # legal-rule: art29-6-notice-reasons
    reason = fields.String(required=True, validate=validate.OneOf(sorted(ART29_6_REASONS)))
    explanation = fields.String(required=True)


class WithdrawalBody(_Body):
    reason = _required_text(4000)


class Art296DecisionBody(_Body):
    decision = fields.String(required=True, validate=validate.OneOf(ART29_6_DECISIONS))
    note = _text(4000)


class NoOrderBody(_Body):
    reason = _required_text(4000)


_AT = {"description": "ISO 8601 with an offset; default: now"}


class SentBody(_Body):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    at = fields.DateTime(load_default=None, allow_none=True, metadata=_AT)


class ForeignReceiptBody(_Body):
    reference = _text(200, metadata={"description": "the foreign CP's reference"})
    at = fields.DateTime(load_default=None, allow_none=True, metadata=_AT)


class AnswerBody(_Body):
    outcome = fields.String(required=True, validate=validate.OneOf(ANSWER_OUTCOMES))
    expires_at = fields.DateTime(
        load_default=None,
        allow_none=True,
        metadata={"description": "preserved abroad until then: starts our MLA clock"},
    )
    note = _text(4000)


class CaseCloseBody(_Body):
    outcome = _required_text(4000)
    note = _text(4000)


class ContactPointBody(_Body):
    """One entry of the directory of foreign contact points; the whole entry each time."""

    country = fields.String(required=True, validate=COUNTRY)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    name = _required_text()
    institutional_email = fields.String(required=True, validate=email_address())
    personal_emails = fields.List(fields.String(), load_default=list, allow_none=True)
    phones = fields.List(
        fields.String(metadata={"description": "E.164, e.g. +40 21 123 4567"}),
        load_default=list,
        allow_none=True,
    )
    office_hours = _text()
    time_zone = fields.String(
        required=True, metadata={"description": "IANA time zone, e.g. Europe/Bucharest"}
    )
    languages = fields.List(
        fields.String(metadata={"description": "ISO 639-1, e.g. en"}),
        load_default=list,
        allow_none=True,
    )
    required_format = _text()
    can_order_preservation = fields.Boolean(required=True)


class ProducedFileBody(_Body):
    name = fields.String(
        required=True, validate=FullMatch(production.FILE_NAME.pattern, example="subscriber.csv")
    )
    media_type = fields.String(
        required=True, validate=FullMatch(production.MEDIA_TYPE.pattern, example="text/csv")
    )
    content_base64 = fields.String(required=True, metadata={"description": "the bytes"})
    sha256 = fields.String(
        required=True,
        validate=FullMatch(production.SHA256.pattern, example="ab" * 32),
        metadata={"description": "of the bytes; checked on receipt"},
    )


class ProductionBody(_Body):
    files = fields.List(
        fields.Nested(ProducedFileBody),
        required=True,
        validate=validate.Length(min=1, max=production.MAX_FILES),
    )
    note = _text(production.MAX_NOTE)


BODIES: dict[str, type[Schema]] = {
    "Login": LoginBody,
    "AlertLink": AlertLinkBody,
    "Extension": ExtendBody,
    "Release": ReleaseBody,
    "PreservedReport": PreservedBody,
    "UnavailableReport": UnavailableBody,
    "ForeignProviderReport": ForeignProviderBody,
    "MlaRequest": MlaBody,
    "MlaStatus": MlaStatusBody,
    "MlaAuthorisation": MlaAuthorisationBody,
    "Lead": LeadBody,
    "NearDuplicateResolution": NearDuplicateBody,
    "Refusal": RefusalBody,
    "Art296Notice": Art296NoticeBody,
    "Art296Decision": Art296DecisionBody,
    "Withdrawal": WithdrawalBody,
    "NoOrder": NoOrderBody,
    "Sent": SentBody,
    "ForeignReceipt": ForeignReceiptBody,
    "Answer": AnswerBody,
    "CaseClose": CaseCloseBody,
    "ContactPoint": ContactPointBody,
    "Production": ProductionBody,
}
