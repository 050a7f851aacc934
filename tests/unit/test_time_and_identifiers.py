"""Time and identifier hygiene: ambiguous times, future times, CGNAT addresses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.intake.hygiene import normalise_identifiers, parse_observed_at

RECEIVED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_time_with_offset_is_taken_as_given():
    moment, warnings = parse_observed_at("2026-11-27T22:14:05-05:00", None, RECEIVED)
    assert moment == datetime(2026, 11, 28, 3, 14, 5, tzinfo=UTC)
    assert warnings == []


def test_local_time_is_read_in_the_requesting_authority_zone_with_a_warning():
    moment, warnings = parse_observed_at("2026-07-01T10:00:00", "Europe/Bucharest", RECEIVED)
    assert moment.astimezone(UTC) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # EEST, UTC+3
    assert warnings == ["timestamp_local_only"]


@pytest.mark.parametrize(
    ("text", "zone", "reason"),
    [
        ("2026-11-27T22:14:05", None, "ambiguous"),
        ("2026-11-27T22:14:05", "Mars/Olympus", "IANA"),
        ("27/11/2026 10:14 PM", "UTC", "ISO 8601"),
        ("2026-11-28T12:06:00Z", None, "future"),
    ],
)
def test_unusable_times_are_refused_with_a_reason(text, zone, reason):
    with pytest.raises(ValueError, match=reason):
        parse_observed_at(text, zone, RECEIVED)


def test_public_ipv4_without_port_is_flagged_for_carrier_grade_nat():
    identifiers = [{"kind": "ip", "value": " 8.8.8.8 ", "port": None, "observed_at": None}]
    result, warnings, errors = normalise_identifiers(identifiers, None, RECEIVED)
    assert result[0]["value"] == "8.8.8.8"
    assert warnings == ["ipv4_without_port"] and errors == {}


def test_documentation_and_private_ranges_are_not_public():
    identifiers = [
        {"kind": "ip", "value": "192.0.2.1", "port": None},
        {"kind": "ip", "value": "10.1.2.3", "port": None},
        {"kind": "ip", "value": "2001:DB8:0:0::1", "port": None},
    ]
    result, warnings, _ = normalise_identifiers(identifiers, None, RECEIVED)
    assert warnings == []
    assert result[2]["value"] == "2001:db8::1"


def test_bad_identifiers_are_reported_by_path():
    identifiers = [
        {"kind": "email", "value": "Someone@Example.ORG"},
        {"kind": "ip", "value": "300.1.1.1"},
        {"kind": "ip", "value": "8.8.4.4", "port": 443, "observed_at": "yesterday"},
    ]
    result, _, errors = normalise_identifiers(identifiers, "UTC", RECEIVED)
    assert result[0]["value"] == "someone@example.org"
    assert set(errors) == {"data.identifiers.1.value", "data.identifiers.2.observed_at"}
