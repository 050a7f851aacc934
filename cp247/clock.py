"""Wall-clock time in one place, so tests and replays can control it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a trailing Z, as the API promises; fixed width, so it sorts."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def month_of(at: str) -> str:
    """The calendar month (``YYYY-MM``) of an ISO 8601 time in UTC."""
    return at[:7]


def months_between(first: str, last: str) -> list[str]:
    """The months ``first`` to ``last`` (``YYYY-MM``), both included."""
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def format_utc(moment: datetime) -> str:
    """``2026-11-28 03:14:07 UTC``: seconds always, never fractions (what people read, in
    lists, messages and documents alike; the exact value stays in the record)."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def format_in_zone(moment: datetime, zone: ZoneInfo, with_zone_name: bool = True) -> str:
    """Local time with its abbreviation and offset (and zone name), so a DST fold is never
    ambiguous: 01:30:00 CEST (UTC+02:00) and 01:30:00 CET (UTC+01:00) are an hour apart."""
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    suffix = f", {zone.key}" if with_zone_name else ""
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} ({offset}{suffix})"
