"""How the pages show times, clocks and states: UTC and the original side by side, time
left as a clock, overdue marked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cp247.clock import parse_iso, utcnow

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


def when(value: Any) -> str:
    """An ISO time as ``2026-11-28 03:14 UTC``; empty for none."""
    if not value:
        return ""
    try:
        return parse_iso(str(value)).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return str(value)


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


def overdue(value: Any, now: datetime | None = None) -> bool:
    left = seconds_left(value, now)
    return left is not None and left < 0


def status_words(status: Any) -> str:
    return STATUS_WORDS.get(str(status), str(status or "").replace("_", " "))


FILTERS = {"when": when, "clock": clock, "overdue": overdue, "status_words": status_words}
