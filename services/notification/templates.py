"""Plain-text e-mails of the notification service, in English and French.

Every message is a Jinja2 template in ``templates/<language>/<name>.txt.j2`` whose first line
is ``Subject: ...``, then a blank line, then the body::

    message = render("receipt", "fr", context)
    message.subject, message.body, message.language

``render`` falls back to English when the language has no templates (a Romanian CP gets the
English receipt rather than none); ``render_for`` picks the first supported language from the
recipient's list (a directory entry's ``languages``). Language tags are read by their primary
subtag, so ``fr-BE`` and ``FR`` mean French.

The context must carry every variable of ``TEMPLATE_VARIABLES[name]`` (``StrictUndefined``:
a missing key is an error, never a silently empty line in a message to a foreign authority).
Variables marked "or None" below may be ``None``, and the line that would show them is then
left out or says "not given". Nothing else is shown: the templates print no personal data
beyond what the caller puts in the context.

Times (``received_at``, ``expires_at``) are aware ``datetime`` objects or ISO 8601 strings
with an offset or ``Z`` (the events' ``Timestamp`` fields); they are shown as
``YYYY-MM-DD HH:MM UTC`` in both languages, because correspondents in many countries read ISO
dates the same way and a spelled-out date invites the day/month confusion the domain warns
about. ``time_zone`` is an IANA zone name (or None) in which the receipt repeats the time.

``grounds`` (refusal) are the codes of ``services.intake.domain.REFUSAL_GROUNDS``, ``reason``
of ``art29_6_notice`` one of ``ART29_6_REASONS``, ``type`` a request type of
``events.catalogue.REQUEST_TYPES``; each language's ``_common.j2`` words them in that language
(an unknown code is shown as it is).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from cp247.clock import format_utc

__all__ = [
    "DEFAULT_LANGUAGE",
    "SUPPORTED_LANGUAGES",
    "TEMPLATE_DIR",
    "TEMPLATE_NAMES",
    "TEMPLATE_VARIABLES",
    "RenderedMessage",
    "choose_language",
    "render",
    "render_for",
]

TEMPLATE_DIR = Path(__file__).with_name("templates")

DEFAULT_LANGUAGE = "en"
SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "fr")

# What each template needs, the contract with the callers. A test renders every template with
# exactly these keys and checks that leaving any one out fails, so this list cannot drift from
# the template files in either language.
_TO_REQUESTER = ("our_reference", "their_reference", "contact_point")
TEMPLATE_VARIABLES: dict[str, tuple[str, ...]] = {
    # to the requesting foreign CP
    "receipt": (
        *_TO_REQUESTER,
        "received_at",
        "time_zone",  # or None
        "duty_name",  # or None
        "duty_phone",
        "duty_email",
    ),
    "order_issued": (*_TO_REQUESTER, "provider", "expires_at"),
    "data_preserved": (*_TO_REQUESTER, "provider", "preserved_at", "expires_at"),  # or None
    "data_unavailable": (*_TO_REQUESTER, "provider", "reason"),
    # ``conditions`` (or None): use_limited_to, confidential, further_transfer, handling_code
    "art30_disclosure": (*_TO_REQUESTER, "provider", "country", "path", "conditions"),
    # ``files``: name, size, sha256 of each
    "production_disclosure": (*_TO_REQUESTER, "files", "conditions"),
    "refusal": (*_TO_REQUESTER, "grounds", "explanation"),
    "art29_6_notice": (*_TO_REQUESTER, "reason", "explanation"),
    "withdrawal": _TO_REQUESTER,
    # to whoever must act on the MLA follow-up: the foreign CP for an incoming request, our
    # prosecutor for an outgoing one; the wording is impersonal for that reason
    "mla_reminder": (
        *_TO_REQUESTER,
        "provider",
        "expires_at",
        "days_left",
        "mla_reference",  # or None: "not yet received"
        "action",
    ),
    "mla_overdue": (*_TO_REQUESTER, "provider", "expires_at", "action"),
    # to our own duty officers; ``urgency`` is the request's: only "emergency" (imminent risk,
    # P2 Art 9) is called an emergency, any other urgency an urgent request
    "duty_alert": ("our_reference", "type", "urgency", "counterpart_country", "acknowledge_url"),
    "duty_escalation": (
        "our_reference",
        "type",
        "urgency",
        "counterpart_country",
        "minutes",
        "acknowledge_url",
    ),
    "delivery_failed": ("our_reference", "recipients", "message_subject", "attempts", "error"),
    # to our duty prosecutor: an order waits for approval (national policy); ``kind``:
    # preservation or disclosure
    "approval_needed": ("our_reference", "provider", "reason", "case_url", "kind"),
    # to our duty officers: a disclosure order nears its due-by unanswered, or passed it
    "disclosure_due": ("our_reference", "provider", "due_by", "offset_hours", "case_url"),
    "disclosure_overdue": ("our_reference", "provider", "due_by", "case_url"),
    # to our duty officers, then up the roster: an emergency still undecided (P2 Art 9)
    "emergency_overdue": ("our_reference", "counterpart_country", "decide_by", "level", "case_url"),
    # to our duty prosecutor: a provider's Art 30 report waits for a decision
    "art30_decision": ("our_reference", "provider", "country", "case_url"),
    # to our duty officer: a foreign CP has not confirmed receipt of our request
    "outgoing_chase": ("our_reference", "counterpart_country", "sent_at", "case_url"),
    # to a foreign CP at the address in effect: someone proposed to change where we write to
    # it (``changes``: [{field, old, new}], a value a string or a list); about no request
    "directory_change": (
        "our_reference",  # the change's, e.g. DIR-1A2B3C4D
        "contact_point",
        "entry_name",
        "changes",
        "proposed_at",
        "duty_phone",
        "duty_email",
    ),
}
TEMPLATE_NAMES: tuple[str, ...] = tuple(TEMPLATE_VARIABLES)

_SUBJECT_PREFIX = "Subject: "


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered e-mail: one-line subject, body ending in a newline, language used."""

    subject: str
    body: str
    language: str


# --- filters ---------------------------------------------------------------------------------
def _moment(value: datetime | str) -> datetime:
    """An aware datetime from a datetime or ISO 8601 text; a naive one is refused because
    nobody could tell which moment it is."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the time {value!s} has no UTC offset; give an aware time")
    return moment


def _utc(value: datetime | str) -> str:
    """``2024-05-03 14:05:00 UTC``."""
    return format_utc(_moment(value))


def _local_time(value: datetime | str, zone: str | None) -> str | None:
    """The time in ``zone`` with the zone and its offset, or None when the zone is missing or
    unknown: a bad directory entry must not stop the receipt, which still shows UTC."""
    if not zone:
        return None
    try:
        local = _moment(value).astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    offset = local.strftime("%z")  # +0300
    return f"{local:%Y-%m-%d %H:%M:%S} ({zone}, UTC{offset[:3]}:{offset[3:]})"


def _oneline(value: Any) -> str:
    """``value`` with every run of whitespace, line breaks included, made one space: a line
    break in a reference must not end the subject line and start the body."""
    return " ".join(str(value).split())


def _as_list(value: Any) -> list[Any]:
    """A list from a list or a single string, so ``grounds="security"`` is not read as the
    letters s, e, c ..."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return list(value)
    return [value]


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=False,  # plain text: HTML escaping would print &amp; in the e-mail
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # the templates ship with the code; no stat() on every render
    )
    environment.filters.update(utc=_utc, local_time=_local_time, oneline=_oneline, as_list=_as_list)
    return environment


_ENVIRONMENT = _environment()


# --- languages -------------------------------------------------------------------------------
def _primary(tag: str | None) -> str | None:
    """The primary subtag of a language tag, lower case: ``fr-BE`` -> ``fr``."""
    if not tag or not isinstance(tag, str):
        return None
    return tag.strip().replace("_", "-").split("-", 1)[0].lower() or None


def choose_language(languages: str | Iterable[str | None] | None) -> str:
    """The first of ``languages`` we have templates in, else ``DEFAULT_LANGUAGE``."""
    if languages is None or isinstance(languages, str):
        languages = [languages]
    for tag in languages:
        language = _primary(tag)
        if language in SUPPORTED_LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


# --- rendering -------------------------------------------------------------------------------
def render(name: str, language: str | None, context: Mapping[str, Any]) -> RenderedMessage:
    """Render template ``name`` in ``language`` (English when unsupported or None).

    Raises ``KeyError`` for an unknown template name, ``jinja2.UndefinedError`` when the
    context lacks a variable, and ``ValueError`` for a time without a UTC offset.
    """
    if name not in TEMPLATE_VARIABLES:
        raise KeyError(
            f"unknown notification template {name!r}; known: {', '.join(TEMPLATE_NAMES)}"
        )
    chosen = choose_language(language)
    text = _ENVIRONMENT.get_template(f"{chosen}/{name}.txt.j2").render(dict(context))
    subject, body = _split(text, f"{chosen}/{name}")
    return RenderedMessage(subject=subject, body=body, language=chosen)


def render_for(
    name: str, languages: Iterable[str] | None, context: Mapping[str, Any]
) -> RenderedMessage:
    """Render ``name`` in the first of ``languages`` we support (a recipient's preference
    order), English when none is supported or the list is empty or None."""
    return render(name, choose_language(languages), context)


def _split(text: str, template: str) -> tuple[str, str]:
    """Subject and body of a rendered template; a malformed template is a bug, said loudly."""
    first, _, rest = text.partition("\n")
    if not first.startswith(_SUBJECT_PREFIX) or not first[len(_SUBJECT_PREFIX) :].strip():
        raise ValueError(f"template {template} must start with a 'Subject: ...' line")
    if not rest.startswith("\n"):
        raise ValueError(f"template {template} needs a blank line after the subject")
    return first[len(_SUBJECT_PREFIX) :].strip(), rest[1:]
