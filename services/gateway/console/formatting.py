"""How the pages show times, clocks and states: UTC and the original side by side, time
left as a clock, overdue marked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import pass_context

from cp247.clock import format_utc, parse_iso, utcnow

STATUS_WORDS = {
    "awaiting_approval": "awaiting approval",
    "issued": "issued, not yet acknowledged",
    "acknowledged": "acknowledged by the provider",
    "preserved": "data preserved",
    "unavailable": "data not available",
    "extended": "extended",
    "released": "released",
    "expired": "expired",
    # a request's
    "awaiting_requester": "awaiting the requesting Party's decision (Art 29(6))",
    "in_progress": "in progress",
}


def when(value: Any, zone: str | None = None) -> str:
    """An ISO time in UTC to the second, and beside it the national local time when ``zone``
    is given: ``2026-11-28 03:14:07 UTC · 05:14:07 EET`` (the local date only where it
    differs); empty for none."""
    if not value:
        return ""
    try:
        moment = parse_iso(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return str(value)
    shown = format_utc(moment)
    local = _zone(zone)
    if local is None or local.key == "UTC":
        return shown
    there = moment.astimezone(local)
    date = "" if there.date() == moment.astimezone(UTC).date() else f"{there:%Y-%m-%d} "
    return f"{shown} · {date}{there:%H:%M:%S} {there.tzname()}"


@pass_context
def when_here(context: Any, value: Any) -> str:
    """``when`` with the national local time of the page (``local_zone``)."""
    return when(value, context.get("local_zone"))


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def seconds_left(value: Any, now: datetime | None = None) -> float | None:
    if not value:
        return None
    try:
        return (parse_iso(str(value)) - (now or utcnow())).total_seconds()
    except ValueError:
        return None


def clock(value: Any, now: datetime | None = None) -> str:
    """Time left until ``value`` (``3 d 4 h``, ``2 h 05 min``), or how long overdue."""
    left = seconds_left(value, now)
    if left is None:
        return ""
    span = abs(int(left))
    days, hours, minutes = span // 86400, span % 86400 // 3600, span % 3600 // 60
    text = f"{days} d {hours} h" if days else f"{hours} h {minutes:02d} min"
    return f"overdue by {text}" if left < 0 else f"{text} left"


def age(value: Any, now: datetime | None = None) -> str:
    """How long ago ``value`` was: ``12 min ago``, ``2 h 05 min ago``, ``3 d 4 h ago``."""
    left = seconds_left(value, now)
    if left is None:
        return ""
    span = max(0, int(-left))
    days, hours, minutes = span // 86400, span % 86400 // 3600, span % 3600 // 60
    if days:
        return f"{days} d {hours} h ago"
    return f"{hours} h {minutes:02d} min ago" if hours else f"{minutes} min ago"


def overdue(value: Any, now: datetime | None = None) -> bool:
    left = seconds_left(value, now)
    return left is not None and left < 0


# A request's warnings as sentences that say what to ask for; the carrier-grade NAT one first:
# without the port the address names thousands of subscribers.
WARNING_SENTENCES = {
    "ipv4_without_port": "A public IPv4 address without its source port: behind carrier-grade "
    "NAT it names thousands of subscribers. Ask the requesting CP for the source port and the "
    "exact time with its zone.",
    "timestamp_local_only": "A time was given without its UTC offset and was read in the "
    "requester's time zone. Ask them to confirm the offset.",
    "custodian_not_listed": "The provider holding the data is not in the provider directory: "
    "no order drafts itself. Order from a listed provider, or record why no order is made.",
    "urgency_set_to_emergency": "An emergency disclosure is always treated as an emergency "
    "(P2 Art 9): the urgency was set to emergency.",
    "near_duplicate": "It looks like a request already registered (same identifier, provider "
    "and time): confirm it belongs to this case, or split it.",
    "unknown_sender": "The sender is not in the contact-point directory: check whom it came "
    "from before acting on it.",
    "sender_email_missing": "No e-mail address of the sender: the receipt cannot be sent "
    "automatically. Ask for one.",
    "period_raised_to_minimum": "The period asked for was under 60 days and was raised to the "
    "minimum of Art 29(7).",
}
FIRST_WARNINGS = ("ipv4_without_port",)


def warning_sentences(warnings: Any) -> list[str]:
    """The warnings in words, the one that matters most first; the recommended items that
    are missing said together, at the end."""
    keys = [str(w) for w in warnings or []]
    ordered = sorted(keys, key=lambda w: (w not in FIRST_WARNINGS, keys.index(w)))
    sentences = [
        WARNING_SENTENCES.get(w, w.replace("_", " ").capitalize() + ".")
        for w in ordered if not w.startswith("recommended_missing:")
    ]  # fmt: skip
    recommended = [w.partition(":")[2] for w in ordered if w.startswith("recommended_missing:")]
    if recommended:
        words = ", ".join(r.replace("_", " ").replace(".", " ") for r in recommended)
        sentences.append(f"Recommended but not given: {words}.")
    return sentences


def status_words(status: Any) -> str:
    return STATUS_WORDS.get(str(status), str(status or "").replace("_", " "))


FILTERS = {
    "when": when_here,
    "clock": clock,
    "age": age,
    "overdue": overdue,
    "status_words": status_words,
    "warning_sentences": warning_sentences,
}
