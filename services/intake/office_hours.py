"""A foreign CP's office hours, as its directory entry states them ("24/7",
"Mon-Fri 08:00-16:00"): when a chase is due, it is due when someone is there to answer."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS = re.compile(
    r"\s*(?:(?P<d1>[a-z]{3})(?:\s*-\s*(?P<d2>[a-z]{3}))?\s+)?"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*",
    re.ASCII,
)


def next_open(at: datetime, office_hours: str | None, time_zone: str | None) -> datetime:
    """``at`` if the office is open then, else when it next opens (UTC-aware in, out).

    Hours it cannot read (or "24/7", or none) leave ``at`` as it is: a chase is never lost
    for a badly written directory entry.
    """
    match = HOURS.fullmatch((office_hours or "").strip().lower())
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return at
    if match is None:
        return at
    first = DAYS.index(match["d1"]) if match["d1"] in DAYS else 0
    last = DAYS.index(match["d2"]) if match["d2"] in DAYS else (first if match["d1"] else 6)
    opens = time(int(match["h1"]) % 24, int(match["m1"]) % 60)
    closes = time(int(match["h2"]) % 24, int(match["m2"]) % 60)
    days = {d % 7 for d in range(first, last + (7 if last < first else 0) + 1)}
    local = at.astimezone(zone)
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        if day.weekday() not in days:
            continue
        start = datetime.combine(day, opens, zone)
        end = datetime.combine(day, closes, zone)
        if offset == 0 and start <= local < end:
            return at
        if start > local:
            return start.astimezone(at.tzinfo)
    return at
