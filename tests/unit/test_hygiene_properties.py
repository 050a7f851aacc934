"""Time and identifier hygiene: properties that hold for any input, and the rules by example."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.intake.hygiene import KINDS, normalise_identifiers, parse_observed_at

RECEIVED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
# No deadline: the first example of a run pays for loading zone files and IDNA tables.
PROPERTY = settings(max_examples=150, deadline=None)
KNOWN_WARNINGS = {"ipv4_without_port", "timestamp_local_only"}


def normalise_one(
    kind: str, value: Any, port: Any = None, time_zone: str | None = None, **extra: Any
) -> tuple[list[dict[str, Any]], list[str], dict[str, list[str]]]:
    return normalise_identifiers(
        [{"kind": kind, "value": value, "port": port, **extra}], time_zone, RECEIVED
    )


def accepted(kind: str, value: Any, port: Any = None) -> dict[str, Any]:
    """The one normalised identifier; fails the test if it was refused."""
    result, _, errors = normalise_one(kind, value, port)
    assert errors == {}, errors
    return result[0]


def refusal(kind: str, value: Any, port: Any = None, field: str = "value") -> str:
    """The reasons given for the refused field; fails the test if it was accepted."""
    result, _, errors = normalise_one(kind, value, port)
    assert result == [], result
    return " ".join(errors[f"data.identifiers.0.{field}"])


# --- time: properties ------------------------------------------------------------------------

offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
moments = st.datetimes(
    min_value=datetime(1990, 1, 2), max_value=datetime(2026, 11, 26), timezones=offsets
)


@PROPERTY
@given(
    moment=moments,
    separator=st.sampled_from(["T", " "]),
    timespec=st.sampled_from(["minutes", "seconds", "microseconds"]),
    zulu=st.booleans(),
)
def test_any_moment_written_with_an_offset_reads_back_as_the_same_instant(
    moment: datetime, separator: str, timespec: str, zulu: bool
) -> None:
    text = moment.isoformat(separator, timespec)
    if zulu and moment.utcoffset() == timedelta():
        text = text.replace("+00:00", "Z")
    written = moment.replace(
        second=0 if timespec == "minutes" else moment.second,
        microsecond=moment.microsecond if timespec == "microseconds" else 0,
    )
    parsed, warnings = parse_observed_at(text, None, RECEIVED)
    assert parsed == written and parsed.tzinfo == UTC
    assert warnings == []


@PROPERTY
@given(moment=moments, lower=st.booleans(), dotted=st.booleans())
def test_twelve_hour_clock_with_am_pm_reads_as_the_same_instant(
    moment: datetime, lower: bool, dotted: bool
) -> None:
    meridiem = "PM" if moment.hour >= 12 else "AM"
    if dotted:
        meridiem = f"{meridiem[0]}.{meridiem[1]}."
    if lower:
        meridiem = meridiem.lower()
    offset = moment.isoformat()[-6:]
    text = f"{moment:%Y-%m-%d} {moment.hour % 12 or 12}:{moment:%M:%S} {meridiem} {offset}"
    parsed, _ = parse_observed_at(text, None, RECEIVED)
    assert parsed == moment.replace(microsecond=0)


@PROPERTY
@given(
    wall=st.datetimes(min_value=datetime(1990, 1, 2), max_value=datetime(2026, 11, 26)),
    zone_name=st.sampled_from(
        ["Europe/Bucharest", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
    ),
)
def test_local_time_is_read_in_the_zone_unless_dst_makes_it_not_exist_or_happen_twice(
    wall: datetime, zone_name: str
) -> None:
    zone = ZoneInfo(zone_name)
    earlier, later = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    try:
        parsed, warnings = parse_observed_at(wall.isoformat(), zone_name, RECEIVED)
    except ValueError as exc:
        assert earlier.utcoffset() != later.utcoffset(), exc  # only DST may refuse it
        assert "does not exist" in str(exc) or "ambiguous" in str(exc)
    else:
        assert parsed == earlier == later  # one instant, and the written one
        assert warnings == ["timestamp_local_only"]


time_like = st.text(alphabet="0123456789-:T +Zapm./", max_size=40)


@PROPERTY
@given(text=st.one_of(st.text(), time_like), time_zone=st.sampled_from([None, "UTC", "Mars/X"]))
def test_any_text_is_read_as_a_plausible_utc_moment_or_refused_with_a_sentence(
    text: str, time_zone: str | None
) -> None:
    try:
        parsed, warnings = parse_observed_at(text, time_zone, RECEIVED)
    except ValueError as exc:
        reason = str(exc)
        assert reason[:1].isupper() and reason.endswith("."), reason
    else:
        assert parsed.tzinfo == UTC
        assert datetime(1990, 1, 1, tzinfo=UTC) <= parsed <= RECEIVED + timedelta(minutes=5)
        assert set(warnings) <= {"timestamp_local_only"}


# --- time: rules by example -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zone", "expected", "warnings"),
    [
        ("2026-11-27 22:14:05-05:00", None, datetime(2026, 11, 28, 3, 14, 5), []),
        ("2026-11-27T22:14:05Z", None, datetime(2026, 11, 27, 22, 14, 5), []),
        ("2026-11-27T22:14 UTC", None, datetime(2026, 11, 27, 22, 14), []),
        ("2026-11-27T22:14:05,5+0530", None, datetime(2026, 11, 27, 16, 44, 5, 500000), []),
        (
            "2026-11-27 10:14:05 PM",
            "America/New_York",
            datetime(2026, 11, 28, 3, 14, 5),
            ["timestamp_local_only"],
        ),
        ("2026-11-27 10:14 pm -05:00", None, datetime(2026, 11, 28, 3, 14), []),
        ("2026-11-27 12:30 AM Z", None, datetime(2026, 11, 27, 0, 30), []),
        ("2026-11-27 12:00 p.m. +01:00", None, datetime(2026, 11, 27, 11, 0), []),
        ("2026-11-27 9:14 AM +00:00", None, datetime(2026, 11, 27, 9, 14), []),
        ("2026-11-28T12:05:00Z", None, datetime(2026, 11, 28, 12, 5), []),  # within the skew
        ("1990-01-01T00:00:00Z", None, datetime(1990, 1, 1), []),
        # The overlap is resolved by the offset, whatever the zone says.
        ("2026-10-25T03:30:00+02:00", "Europe/Bucharest", datetime(2026, 10, 25, 1, 30), []),
    ],
)
def test_accepted_times(text: str, zone: str | None, expected: datetime, warnings: list[str]):
    parsed, given_warnings = parse_observed_at(text, zone, RECEIVED)
    assert parsed == expected.replace(tzinfo=UTC) and parsed.tzinfo == UTC
    assert given_warnings == warnings


@pytest.mark.parametrize(
    ("text", "zone", "reason"),
    [
        ("2026-11-27 9:14", "UTC", "AM/PM"),  # one-digit hour: a 12-hour clock
        ("10:14", "UTC", "AM/PM"),
        ("10:14 PM", "UTC", "no date"),
        ("2026-11-27 00:14 AM", "UTC", "1 to 12"),
        ("2026-11-27 13:14 PM", "UTC", "1 to 12"),
        ("27/11/2026 22:14", "UTC", "ISO 8601 YYYY-MM-DD"),
        ("11/27/2026 10:14 PM", "UTC", "ambiguous"),
        ("27.11.2026 22:14", "UTC", "day-first or month-first"),
        ("2026-02-30T10:00:00Z", None, "does not exist"),
        ("2026-11-27T25:00:00Z", None, "does not exist"),
        ("2026-11-27T22:14:05+15:00", None, "does not exist"),
        ("2026-11-28T12:05:01Z", None, "future"),
        ("2099-01-01T00:00:00Z", None, "future"),
        ("1989-12-31T23:59:59Z", None, "before 1990-01-01"),
        ("0001-01-01T00:00:00+05:00", None, "before 1990-01-01"),
        ("2026-03-29T03:30:00", "Europe/Bucharest", "does not exist"),  # spring forward
        ("2026-10-25T03:30:00", "Europe/Bucharest", "ambiguous"),  # fall back
        ("2026-11-01T01:30:00", "America/New_York", "UTC offset"),
        ("2026-11-27T22:14:05 EST", None, "abbreviation"),
        ("2026-11-27", "UTC", "no time of day"),
        ("2026-11-27T22:14:05", "localtime", "IANA"),
        ("2026-11-27T22:14:05", "", "ambiguous"),
        ("  ", None, "empty"),
        ("２０２６-11-27T22:14:05Z", None, "ISO 8601"),  # other scripts' digits are not ISO
    ],
)
def test_refused_times_say_why(text: str, zone: str | None, reason: str):
    with pytest.raises(ValueError, match=reason) as refused:
        parse_observed_at(text, zone, RECEIVED)
    message = str(refused.value)
    assert message[:1].isupper() and message.endswith(".")  # shown to duty officers


# --- identifiers: properties -----------------------------------------------------------------


@PROPERTY
@given(address=st.ip_addresses(), padding=st.sampled_from(["", " ", "\t", " \n"]))
def test_any_ip_address_normalises_idempotently_and_is_flagged_unless_public(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, padding: str
) -> None:
    first = accepted("ip", f"{padding}{address}{padding}")
    again = accepted("ip", first["value"])
    assert (again["value"], again["flags"]) == (first["value"], first["flags"])
    assert "value_original" not in again

    plain = address.ipv4_mapped if address.version == 6 and address.ipv4_mapped else address
    assert first["value"] == plain.compressed
    public = plain.is_global and not plain.is_multicast
    assert (first["flags"] == []) == public

    _, warnings, _ = normalise_one("ip", str(address))
    assert ("ipv4_without_port" in warnings) == (public and plain.version == 4)
    _, warnings, _ = normalise_one("ip", str(address), port=51234)
    assert warnings == []


@PROPERTY
@given(address=st.ip_addresses(v=4))
def test_ipv4_mapped_ipv6_is_reported_as_ipv4(address: ipaddress.IPv4Address) -> None:
    item = accepted("ip", f"::ffff:{address}")
    assert item["value"] == str(address)
    assert item["value_original"] == f"::ffff:{address}"


@st.composite
def formatted_e164(draw: st.DrawFn) -> tuple[str, str]:
    """(digits, the number as a person might write it)."""
    digits = draw(st.from_regex(r"[1-9][0-9]{7,14}", fullmatch=True))
    cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), max_size=4)))
    groups = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True)]
    if len(groups) > 1 and groups[1] != "0" and draw(st.booleans()):
        groups[1] = f"({groups[1]})"
    separators = st.sampled_from([" ", "-", ".", "/", "", "  "])
    text = groups[0] + "".join(draw(separators) + group for group in groups[1:])
    return digits, draw(st.sampled_from(["+", "00", "+ "])) + text


@PROPERTY
@given(number=formatted_e164())
def test_e164_normalisation_strips_formatting_and_is_idempotent(number: tuple[str, str]):
    digits, written = number
    first = accepted("phone", written)
    assert first["value"] == f"+{digits}"
    again = accepted("phone", first["value"])
    assert again["value"] == first["value"] and "value_original" not in again


@PROPERTY
@given(digits=st.from_regex(r"[0-9][0-9 ]{7,14}", fullmatch=True))
def test_phone_numbers_without_country_code_are_refused_asking_for_e164(digits: str):
    assume(not digits.replace(" ", "").startswith("00"))  # 00 is the international prefix
    assert "E.164" in refusal("phone", digits)


labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", fullmatch=True).filter(
    lambda label: label[2:4] != "--"  # reserved for punycode (xn--) and other encodings
)
top_level = st.from_regex(r"[a-z]{2,12}", fullmatch=True)


@PROPERTY
@given(
    parts=st.lists(labels, min_size=1, max_size=4),
    tld=top_level,
    case=st.sampled_from([str.lower, str.upper, str.title]),
    root_dot=st.booleans(),
)
def test_valid_domains_normalise_to_lower_case_idempotently(
    parts: list[str], tld: str, case: Any, root_dot: bool
) -> None:
    name = ".".join([*parts, tld])
    assume(len(name) <= 253)
    written = case(name) + ("." if root_dot else "")
    first = accepted("domain", written)
    assert first["value"] == name
    assert ("value_original" in first) == (written != name)
    again = accepted("domain", first["value"])
    assert again["value"] == name and "value_original" not in again


any_value = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="abcXYZ019.-_@+:/[]() %äß例\u202e\x00", max_size=60),
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    value=any_value,
    port=st.one_of(st.none(), st.integers(-5, 70000), st.text(max_size=5)),
    observed_at=st.one_of(st.none(), st.text(max_size=40)),
    time_zone=st.sampled_from([None, "UTC", "Mars/Olympus"]),
)
def test_any_value_of_any_kind_is_normalised_idempotently_or_refused_by_path(
    kind: str, value: str, port: Any, observed_at: str | None, time_zone: str | None
) -> None:
    identifier = {"kind": kind, "value": value, "port": port, "observed_at": observed_at}
    result, warnings, errors = normalise_identifiers([identifier], time_zone, RECEIVED)
    assert (len(result) == 1) != bool(errors)
    assert warnings == sorted(set(warnings)) and set(warnings) <= KNOWN_WARNINGS
    for path, reasons in errors.items():
        assert path.rsplit(".", 1)[0] == "data.identifiers.0"
        assert path.rsplit(".", 1)[1] in {"value", "port", "observed_at"}
        assert reasons and all(reason.endswith(".") for reason in reasons)
    if result:
        again = accepted(kind, result[0]["value"])
        assert (again["value"], again["flags"]) == (result[0]["value"], result[0]["flags"])


# --- identifiers: rules by example -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "expected", "flags"),
    [
        ("ip", " 8.8.8.8 ", "8.8.8.8", []),
        ("ip", "2001:4860:4860:0:0:0:0:8888", "2001:4860:4860::8888", []),
        ("ip", "[2001:4860::8888]", "2001:4860::8888", []),
        ("ip", "::ffff:8.8.8.8", "8.8.8.8", []),
        ("ip", "10.1.2.3", "10.1.2.3", ["private"]),
        ("ip", "172.16.0.1", "172.16.0.1", ["private"]),
        ("ip", "192.168.1.1", "192.168.1.1", ["private"]),
        ("ip", "FD00::1", "fd00::1", ["private"]),
        ("ip", "127.0.0.1", "127.0.0.1", ["loopback"]),
        ("ip", "::1", "::1", ["loopback"]),
        ("ip", "169.254.1.1", "169.254.1.1", ["link_local"]),
        ("ip", "fe80::1", "fe80::1", ["link_local"]),
        ("ip", "224.0.0.1", "224.0.0.1", ["multicast"]),
        ("ip", "ff02::1", "ff02::1", ["multicast"]),
        ("ip", "240.0.0.1", "240.0.0.1", ["reserved"]),
        ("ip", "255.255.255.255", "255.255.255.255", ["reserved"]),
        ("ip", "198.18.0.1", "198.18.0.1", ["reserved"]),  # benchmarking
        ("ip", "192.0.2.1", "192.0.2.1", ["documentation"]),
        ("ip", "198.51.100.23", "198.51.100.23", ["documentation"]),
        ("ip", "203.0.113.9", "203.0.113.9", ["documentation"]),
        ("ip", "2001:DB8::1", "2001:db8::1", ["documentation"]),
        ("ip", "100.64.0.1", "100.64.0.1", ["shared_cgnat"]),
        ("ip", "0.0.0.0", "0.0.0.0", ["unspecified"]),
        ("ip", "::", "::", ["unspecified"]),
        ("email", " Someone@Example.ORG ", "someone@example.org", []),
        ("email", "user@Bücher.Example", "user@xn--bcher-kva.example", []),
        ("email", '"a@b"@example.com', '"a@b"@example.com', []),
        ("domain", "Example.COM.", "example.com", []),
        ("domain", "Bücher.example", "xn--bcher-kva.example", []),
        ("domain", "faß.de", "xn--fa-hia.de", []),  # IDNA 2008: not fass.de
        ("domain", "例え.テスト", "xn--r8jz45g.xn--zckzah", []),
        ("url", "HTTPS://Example.COM/Path?Q=A#Frag", "https://example.com/Path?Q=A#Frag", []),
        ("url", "http://Bücher.example/Ä?x=1", "http://xn--bcher-kva.example/Ä?x=1", []),
        ("url", "ftp://[2001:DB8::1]:2121/file", "ftp://[2001:db8::1]:2121/file", []),
        ("url", "ftps://user@Files.Example.org", "ftps://user@files.example.org", []),
        ("phone", "+40 21 123 4567", "+40211234567", []),
        ("phone", "0040-21-123-4567", "+40211234567", []),
        ("phone", "+44 (0)20 7946 0958", "+442079460958", []),  # trunk 0 not dialled
        ("phone", "+1 (202) 555.0143", "+12025550143", []),
        ("phone", "+49 30/1234567", "+49301234567", []),
        ("account", " Alice_99 ", "Alice_99", []),
        ("account", "Jose\u0301", "Jos\u00e9", []),  # NFC
    ],
)
def test_accepted_identifiers(kind: str, value: str, expected: str, flags: list[str]):
    item = accepted(kind, value)
    assert (item["value"], item["flags"]) == (expected, flags)
    assert item.get("value_original") == (value if value != expected else None)


@pytest.mark.parametrize(
    ("kind", "value", "port", "field", "reason"),
    [
        ("ip", "1.2.3.4:80", None, "value", "port field"),
        ("ip", "[2001:db8::1]:443", None, "value", "port field"),
        ("ip", "10.0.0.0/8", None, "value", "CIDR"),
        ("ip", "300.1.1.1", None, "value", "not an IPv4 address"),
        ("ip", "010.1.1.1", None, "value", "Leading zeros"),
        ("ip", "example.com", None, "value", "not an IPv4 or IPv6 address"),
        ("ip", "8.8.8.8", 65536, "port", "0 to 65535"),
        ("ip", "8.8.8.8", -1, "port", "0 to 65535"),
        ("ip", "8.8.8.8", True, "port", "whole number"),
        ("ip", "8.8.8.8", "80", "port", "whole number"),
        ("email", "nobody", None, "value", "no @"),
        ("email", "@example.com", None, "value", "nothing before the @"),
        ("email", "someone@", None, "value", "nothing after the @"),
        ("email", "some one@example.com", None, "value", "space"),
        (
            "email",
            "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com",
            None,
            "value",
            "254",
        ),
        ("email", "a" * 65 + "@example.com", None, "value", "64"),
        ("email", "someone@localhost", None, "value", "one part"),
        ("domain", "-bad.com", None, "value", "hyphen"),
        ("domain", "bad-.com", None, "value", "hyphen"),
        ("domain", "a..com", None, "value", "empty label"),
        ("domain", "a" * 64 + ".com", None, "value", "63"),
        ("domain", ".".join(["a" * 63] * 4) + ".com", None, "value", "253"),
        ("domain", "exa_mple.com", None, "value", "letters, digits, hyphens"),
        ("domain", "localhost", None, "value", "one part"),
        ("domain", "1.2.3.4", None, "value", 'kind "ip"'),
        ("domain", "https://example.com", None, "value", 'kind "url"'),
        ("domain", "xn--zzzzzzzz.com", None, "value", "does not decode"),
        ("domain", "i\u2764.ws", None, "value", "punycode"),
        ("url", "javascript:alert(1)", None, "value", "not accepted"),
        ("url", "mailto:someone@example.com", None, "value", "not accepted"),
        ("url", "example.com/page", None, "value", "no scheme"),
        ("url", "http:///path", None, "value", "no host"),
        ("url", "https://", None, "value", "no host"),
        ("url", "http://exa mple.com/", None, "value", "space"),
        ("url", "http://example.com:99999/", None, "value", "port"),
        ("url", "http://[2001:db8::1/", None, "value", "cannot be read"),
        ("phone", "021 123 4567", None, "value", "E.164"),
        ("phone", "+0123456789", None, "value", "starts its country code with 0"),
        ("phone", "+1 234", None, "value", "8 to"),
        ("phone", "+1234567890123456", None, "value", "8 to"),
        ("phone", "+40 21 CALL NOW", None, "value", "only digits"),
        ("account", "john doe", None, "value", "whitespace"),
    ],
)
def test_refused_identifiers_say_why_by_field(
    kind: str, value: str, port: Any, field: str, reason: str
):
    message = refusal(kind, value, port, field)
    assert reason in message
    assert message[:1].isupper() and message.endswith(".")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("a" * 2001, "2000"),
        ("bad\x00value", "control character"),
        ("bad\u202evalue", "control character"),  # bidi override: spoofs what is displayed
        ("a\u200bb", "control character"),  # zero-width space
        ("   ", "empty"),
        (None, "missing"),
        (42, "text"),
    ],
)
def test_every_kind_refuses_overlong_invisible_and_missing_values(
    kind: str, value: Any, reason: str
):
    assert reason in refusal(kind, value)


def test_unknown_kind_is_refused_on_the_kind_field():
    assert "ip, email, account" in refusal("fax", "12345", field="kind")


def test_ipv4_without_port_is_a_request_warning_only_for_public_ipv4():
    def warnings_for(value: str, port: int | None) -> list[str]:
        return normalise_one("ip", value, port)[1]

    assert warnings_for("8.8.8.8", None) == ["ipv4_without_port"]
    assert warnings_for("8.8.8.8", 51234) == []
    assert warnings_for("2001:4860::8888", None) == []
    assert warnings_for("100.64.0.1", None) == []  # the CGNAT-internal side: flagged instead


def test_request_warnings_are_sorted_and_unique():
    identifiers = [
        {"kind": "ip", "value": "8.8.8.8", "observed_at": "2026-11-27T10:00:00"},
        {"kind": "ip", "value": "8.8.4.4", "observed_at": "2026-11-27T11:00:00"},
    ]
    _, warnings, errors = normalise_identifiers(identifiers, "Europe/Bucharest", RECEIVED)
    assert errors == {}
    assert warnings == ["ipv4_without_port", "timestamp_local_only"]


def test_observed_at_is_stored_in_utc_with_the_original_text_and_zone():
    result, _, _ = normalise_one(
        "account", "alice", time_zone="Europe/Bucharest", observed_at="2026-07-01 10:00"
    )
    assert result[0]["observed_at"] == "2026-07-01T07:00:00.000000Z"
    assert result[0]["observed_at_text"] == "2026-07-01 10:00"
    assert result[0]["observed_at_zone"] == "Europe/Bucharest"


def test_observed_at_with_an_offset_records_no_zone():
    result, _, _ = normalise_one("account", "alice", observed_at="2026-07-01T10:00:00+03:00")
    assert result[0]["observed_at"] == "2026-07-01T07:00:00.000000Z"
    assert "observed_at_zone" not in result[0]


def test_service_is_trimmed_and_lower_cased_and_the_account_keeps_its_case():
    result, _, errors = normalise_one("account", "AliceSmith", service=" WhatsApp ")
    assert errors == {}
    assert (result[0]["value"], result[0]["service"]) == ("AliceSmith", "whatsapp")
    assert "value_original" not in result[0]


def test_every_wrong_field_of_one_identifier_is_reported():
    _, _, errors = normalise_one("ip", "1.2.3.4/24", port=70000, observed_at="27/11/2026 10:00")
    assert set(errors) == {
        "data.identifiers.0.value",
        "data.identifiers.0.port",
        "data.identifiers.0.observed_at",
    }
