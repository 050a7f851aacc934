"""Time and identifier hygiene: where real cases go wrong (DOMAIN.md).

A communication time without an offset is read in the requesting authority's time zone and
flagged; with no zone at all it is refused. A public IPv4 address without a source port cannot
identify a subscriber behind carrier-grade NAT, so it is flagged too.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cp247.clock import iso

CLOCK_SKEW = timedelta(minutes=5)


def parse_observed_at(
    text: str, time_zone: str | None, received_at: datetime
) -> tuple[datetime, list[str]]:
    """UTC moment of a communication and any warnings; ValueError says what is wrong."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not an ISO 8601 date and time, e.g. 2026-11-27T22:14:05-05:00") from None
    warnings: list[str] = []
    if moment.tzinfo is None:
        if not time_zone:
            raise ValueError(
                "has no UTC offset and requesting_authority.time_zone is not given: "
                "the moment is ambiguous"
            )
        try:
            moment = moment.replace(tzinfo=ZoneInfo(time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"time zone {time_zone!r} is not an IANA zone name") from None
        warnings.append("timestamp_local_only")
    if moment - received_at > CLOCK_SKEW:
        raise ValueError("lies in the future")
    return moment, warnings


def normalise_identifiers(
    identifiers: list[dict[str, Any]], time_zone: str | None, received_at: datetime
) -> tuple[list[dict[str, Any]], list[str], dict[str, list[str]]]:
    """Normalised identifiers, warnings and field errors (by path) for the request."""
    result: list[dict[str, Any]] = []
    warnings: list[str] = []
    errors: dict[str, list[str]] = {}
    for index, identifier in enumerate(identifiers):
        path = f"data.identifiers.{index}"
        item = dict(identifier)
        if item["kind"] == "ip":
            try:
                address = ipaddress.ip_address(item["value"].strip())
            except ValueError:
                errors[f"{path}.value"] = ["not an IPv4 or IPv6 address"]
                continue
            item["value"] = address.compressed
            if address.version == 4 and address.is_global and item.get("port") is None:
                warnings.append("ipv4_without_port")
        elif item["kind"] in ("email", "domain"):
            item["value"] = item["value"].strip().lower()
        observed = item.get("observed_at")
        if observed:
            try:
                moment, more = parse_observed_at(observed, time_zone, received_at)
            except ValueError as exc:
                errors[f"{path}.observed_at"] = [str(exc)]
                continue
            item["observed_at"] = iso(moment)
            item["observed_at_text"] = observed
            warnings.extend(more)
        result.append(item)
    return result, sorted(set(warnings)), errors
