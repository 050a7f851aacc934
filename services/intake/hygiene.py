"""Time and identifier hygiene: where real cases go wrong (DOMAIN.md).

A communication time without an offset is read in the requesting authority's time zone and
flagged; with no zone at all it is refused, and so is anything a person could read two ways
(a 12-hour clock without AM/PM, a day-first date, a local time that DST makes happen twice).
Identifiers are normalised so that the same subscriber gives the same key wherever it is
written, and a public IPv4 address without a source port is flagged: behind carrier-grade NAT
it does not identify anyone.

Pure functions; every refusal is a sentence a duty officer can act on.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import idna

from cp247.clock import iso

CLOCK_SKEW = timedelta(minutes=5)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
MAX_VALUE_LENGTH = 2000
KINDS = ("ip", "email", "account", "domain", "phone", "url")
URL_SCHEMES = ("http", "https", "ftp", "ftps")
EXAMPLE_TIME = "2026-11-27T22:14:05-05:00"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# --- time -----------------------------------------------------------------------------------

# re.ASCII: \d must not accept other scripts' digits, which int() would silently convert.
_ISO = re.compile(
    r"""
    (?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})
    (?:[Tt]|\s+)
    (?P<hour>\d{1,2}):(?P<minute>\d{2})
    (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?
    (?:\s*(?P<meridiem>[AaPp]\.?[Mm]\.?))?
    (?:\s*(?P<offset>[Zz]|(?i:utc|gmt)|[+-]\d{2}(?::?\d{2})?))?
    """,
    re.VERBOSE | re.ASCII,
)
_NUMERIC_DAY_OR_MONTH_FIRST = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}(?!\d)", re.ASCII)
_TIME_ONLY = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?P<meridiem>[AaPp]\.?[Mm]\.?))?", re.ASCII)
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_ZONE_ABBREVIATION = re.compile(r"(?P<body>.*?)\s*(?P<abbreviation>[A-Za-z]{3,5})", re.ASCII)
# Valid keys of the zone database that still do not name a place's civil time.
_NOT_CIVIL_ZONES = frozenset({"localtime", "posixrules", "Factory"})


def parse_observed_at(
    text: str, time_zone: str | None, received_at: datetime
) -> tuple[datetime, list[str]]:
    """UTC moment of a communication and any warnings; ValueError says what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"The time must be written as text, e.g. {EXAMPLE_TIME}.")
    text = text.strip()
    if not text:
        raise ValueError(f"The time is empty; give it in ISO 8601, e.g. {EXAMPLE_TIME}.")
    shown = _show(text)
    match = _ISO.fullmatch(text)
    if match is None:
        raise ValueError(_unreadable_time(text, shown))
    wall = _wall_clock(match)
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=UTC)
    # Years this far out cannot become plausible through any offset; checking them first
    # also keeps the conversions below clear of datetime's year 1..9999 limits.
    if wall.year < EARLIEST.year - 1:
        raise ValueError(_too_early(shown))
    if wall.year > received_at.year + 1:  # legal-rule: art29-2-c-no-future-time
        raise ValueError(_in_future(shown, received_at))
    warnings: list[str] = []
    if match["offset"]:
        moment = wall.replace(tzinfo=_fixed_offset(match["offset"]))
    else:
        moment = _read_in_zone(wall, time_zone, shown)
        warnings.append("timestamp_local_only")  # legal-rule: art29-2-c-time-needs-zone
    moment = moment.astimezone(UTC)
    if moment < EARLIEST:
        raise ValueError(_too_early(shown))
    if moment - received_at > CLOCK_SKEW:  # legal-rule: art29-2-c-no-future-time
        raise ValueError(_in_future(shown, received_at))
    return moment, warnings


def _show(text: str) -> str:
    """The input as quoted in a message: escaped, and short enough to read."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _unreadable_time(text: str, shown: str) -> str:
    """Why a time that does not match the accepted ISO 8601 form cannot be read."""
    if _NUMERIC_DAY_OR_MONTH_FIRST.match(text):
        return (
            f"The time {shown} writes the date day-first or month-first, which is ambiguous "
            "(03/04 may be 3 April or 4 March): use ISO 8601 YYYY-MM-DD, "
            f"e.g. {EXAMPLE_TIME}."
        )
    time_only = _TIME_ONLY.fullmatch(text)
    if time_only is not None:
        without_meridiem = (
            "" if time_only["meridiem"] else ", and without AM/PM it could be morning or evening"
        )
        return (
            f"The time {shown} has no date{without_meridiem}: give the date and a 24-hour time "
            f"in ISO 8601, e.g. {EXAMPLE_TIME}."
        )
    if _DATE_ONLY.fullmatch(text):
        return (
            f"The time {shown} has a date but no time of day; identification needs the exact "
            f"time in ISO 8601, e.g. {EXAMPLE_TIME}."
        )
    abbreviated = _ZONE_ABBREVIATION.fullmatch(text)
    if abbreviated is not None:
        body = _ISO.fullmatch(abbreviated["body"])
        if body is not None and not body["offset"]:
            return (
                f"The time {shown} ends in the zone abbreviation "
                f"{abbreviated['abbreviation']!r}, which is ambiguous (CST names three different "
                "zones): give a UTC offset such as -05:00 instead."
            )
    return (
        f"The time {shown} is not in ISO 8601 form YYYY-MM-DDThh:mm:ss with a UTC offset, "
        f"e.g. {EXAMPLE_TIME}."
    )


def _wall_clock(match: re.Match[str]) -> datetime:
    """The written date and time of day, without any zone; refuses what does not exist."""
    hour = int(match["hour"])
    minute = int(match["minute"])
    meridiem = match["meridiem"]
    if meridiem:
        label = "PM" if meridiem[0] in "Pp" else "AM"
        if not 1 <= hour <= 12:
            raise ValueError(
                f"The time {match['hour']}:{match['minute']} {label} does not exist: with AM/PM "
                "the hour runs from 1 to 12. Use a 24-hour time without AM/PM instead."
            )
        hour = hour % 12 + (12 if label == "PM" else 0)
    elif len(match["hour"]) == 1:
        # ISO 8601 always writes two hour digits; one digit is the mark of a 12-hour clock.
        raise ValueError(
            f"The time of day {match['hour']}:{match['minute']} has a one-digit hour and no "
            f"AM/PM, so it may be a 12-hour time (0{hour}:{minute:02d} or "
            f"{hour + 12}:{minute:02d}): write a two-digit 24-hour time, or add AM or PM."
        )
    try:
        day = date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        raise ValueError(
            f"The date {match['year']}-{match['month']}-{match['day']} does not exist."
        ) from None
    second = int(match["second"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        written = f"{match['hour']}:{match['minute']}" + (
            f":{match['second']}" if match["second"] else ""
        )
        raise ValueError(f"The time of day {written} does not exist.")
    # Beyond microseconds, digits are dropped: no log is that precise about a subscriber.
    microsecond = int((match["fraction"] or "").ljust(6, "0")[:6])
    return datetime(day.year, day.month, day.day, hour, minute, second, microsecond)


def _fixed_offset(text: str) -> tzinfo:
    """The zone of an explicit offset, Z, UTC or GMT."""
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    sign = -1 if text[0] == "-" else 1
    total = sign * (hours * 60 + minutes)
    # Civil offsets in use run from -12:00 (Baker Island) to +14:00 (Line Islands).
    if minutes > 59 or not -12 * 60 <= total <= 14 * 60:
        raise ValueError(
            f"The UTC offset {text} does not exist; offsets run from -12:00 to +14:00."
        )
    return timezone(timedelta(minutes=total))


def _read_in_zone(wall: datetime, time_zone: str | None, shown: str) -> datetime:
    """A local wall-clock time placed in an IANA zone, refusing DST gaps and overlaps."""
    if not time_zone:  # legal-rule: art29-2-c-time-needs-zone
        raise ValueError(
            f"The time {shown} has no UTC offset and requesting_authority.time_zone is not "
            f"given, so the moment is ambiguous: add an offset, e.g. {EXAMPLE_TIME}."
        )
    zone = _zone(time_zone)
    earlier = wall.replace(tzinfo=zone, fold=0)
    later = wall.replace(tzinfo=zone, fold=1)
    if earlier.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        raise ValueError(
            f"The local time {shown} does not exist in {time_zone}: the clocks were put forward "
            "for daylight saving time and skipped it. Check the time, or give a UTC offset."
        )
    if earlier.utcoffset() != later.utcoffset():
        raise ValueError(
            f"The local time {shown} is ambiguous in {time_zone}: the clocks were put back and "
            f"it happened twice (at UTC offset {_offset_text(earlier)} and again at "
            f"{_offset_text(later)}). Give the UTC offset to say which."
        )
    return earlier


def _zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; ValueError if there is none."""
    refused = ValueError(
        f"The time zone {name!r} is not an IANA time zone name, e.g. Europe/Bucharest or "
        "America/New_York."
    )
    if not isinstance(name, str) or name in _NOT_CIVIL_ZONES:
        raise refused
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise refused from None


def _offset_text(moment: datetime) -> str:
    """An aware moment's UTC offset as +hh:mm."""
    offset = moment.utcoffset() or timedelta()
    sign = "-" if offset < timedelta() else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _too_early(shown: str) -> str:
    return (
        f"The time {shown} is before 1990-01-01, which is not plausible for a communication a "
        "provider could still hold; check the year."
    )


def _in_future(shown: str, received_at: datetime) -> str:
    return (
        f"The time {shown} lies in the future: it is later than the receipt of the request "
        f"({iso(received_at)}) by more than the 5 minutes allowed for clock differences."
    )


# --- identifiers ----------------------------------------------------------------------------


class _Refused(ValueError):
    """A value that cannot be normalised; the message is shown to the duty officer."""


def normalise_identifiers(
    identifiers: list[dict[str, Any]], time_zone: str | None, received_at: datetime
) -> tuple[list[dict[str, Any]], list[str], dict[str, list[str]]]:
    """Normalised identifiers, warnings and field errors (by path) for the request.

    An identifier with any error is left out of the list; the errors name each field.
    """
    result: list[dict[str, Any]] = []
    warnings: list[str] = []
    errors: dict[str, list[str]] = {}
    for index, identifier in enumerate(identifiers):
        path = f"data.identifiers.{index}"
        if not isinstance(identifier, Mapping):
            errors[path] = ["An identifier must be an object with kind and value."]
            continue
        item, more, problems = _normalise_identifier(identifier, time_zone, received_at)
        if problems:
            errors.update({f"{path}.{field}": reasons for field, reasons in problems.items()})
            continue
        result.append(item)
        warnings.extend(more)
    return result, sorted(set(warnings)), errors


def needs_source_port(item: Mapping[str, Any]) -> bool:
    """A normalised public IPv4 address given without its source port: behind carrier-grade
    NAT it names thousands of subscribers at once (seed 3.1.1)."""
    return (
        item.get("kind") == "ip"
        and not item.get("flags")
        and item.get("port") is None
        and ipaddress.ip_address(str(item.get("value"))).version == 4
    )


def _normalise_identifier(
    identifier: Mapping[str, Any], time_zone: str | None, received_at: datetime
) -> tuple[dict[str, Any], list[str], dict[str, list[str]]]:
    """One identifier normalised, its warnings, and its errors by field name."""
    item = dict(identifier)
    warnings: list[str] = []
    problems: dict[str, list[str]] = {}

    port = item.get("port")
    port_ok = port is None or (
        isinstance(port, int) and not isinstance(port, bool) and 0 <= port <= 65535
    )
    if not port_ok:
        problems["port"] = ["The port must be a whole number from 0 to 65535."]

    kind = item.get("kind")
    normalise = _NORMALISERS.get(kind) if isinstance(kind, str) else None
    if normalise is None:
        problems["kind"] = [f"The kind {kind!r} is not one of {', '.join(KINDS)}."]
    else:
        original = item.get("value")
        try:
            value, flags = normalise(_clean(original))
        except _Refused as exc:
            problems["value"] = [str(exc)]
        else:
            item["value"] = value
            item["flags"] = flags
            if value != original:
                item["value_original"] = original
            if needs_source_port(item):
                warnings.append("ipv4_without_port")  # legal-rule: art29-2-c-ipv4-without-port

    if "service" in item:
        try:
            item["service"] = _normalise_service(item["service"])
        except _Refused as exc:
            problems["service"] = [str(exc)]

    observed = item.get("observed_at")
    if observed is not None and observed != "":
        try:
            moment, more = parse_observed_at(observed, time_zone, received_at)
        except ValueError as exc:
            problems["observed_at"] = [str(exc)]
        else:
            item["observed_at"] = iso(moment)
            item["observed_at_text"] = observed
            if "timestamp_local_only" in more:
                item["observed_at_zone"] = time_zone
            warnings.extend(more)
    return item, warnings, problems


def _clean(value: Any) -> str:
    """Checks every kind shares: text, not too long, not blank, nothing invisible."""
    if value is None:
        raise _Refused("The value is missing.")
    if not isinstance(value, str):
        raise _Refused("The value must be text.")
    if len(value) > MAX_VALUE_LENGTH:
        raise _Refused(f"The value is longer than {MAX_VALUE_LENGTH} characters.")
    # Surrounding whitespace (a pasted line break) is noise; inside the value it is not.
    text = value.strip()
    if not text:
        raise _Refused("The value is empty.")
    invisible = _first_invisible(text)
    if invisible is not None:
        raise _Refused(
            f"The value contains the control character U+{ord(invisible):04X}; it is invisible "
            "and would make the identifier differ from the provider's records."
        )
    return text


# Zero-width (non-)joiners are part of correct spelling in Persian and Indic scripts.
_JOINERS = frozenset({"\u200c", "\u200d"})


def _first_invisible(text: str) -> str | None:
    """The first control, format (bidi, zero-width) or surrogate character, if any."""
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or (category == "Cf" and char not in _JOINERS):
            return char
    return None


def _normalise_service(service: Any) -> str | None:
    """The service name, trimmed and lower-cased; blank means none."""
    if service is None:
        return None
    if not isinstance(service, str):
        raise _Refused("The service must be text, e.g. whatsapp.")
    text = unicodedata.normalize("NFC", service.strip()).lower()
    if _first_invisible(text) is not None:
        raise _Refused("The service contains a control character.")
    return text or None


_GLUED_PORT = re.compile(
    r"(?P<v4>\d{1,3}(?:\.\d{1,3}){3}):(?P<port>\d+)|\[(?P<v6>[^\]]*)\]:(?P<port6>\d+)",
    re.ASCII,
)
_DOTTED = re.compile(r"[\d.]+", re.ASCII)
_PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_SHARED_CGNAT = (ipaddress.ip_network("100.64.0.0/10"),)
_DOCUMENTATION = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


def _normalise_ip(text: str) -> tuple[str, list[str]]:
    """Compressed address (IPv4-mapped IPv6 as IPv4) and its non-public flags."""
    if "/" in text:
        raise _Refused(
            f"The value {_show(text)} is a range (CIDR notation), not one address: give the "
            "single address that was observed."
        )
    glued = _GLUED_PORT.fullmatch(text)
    if glued is not None:
        port = glued["port"] or glued["port6"]
        raise _Refused(
            f"The value {_show(text)} has a port glued on: put the address in value and the "
            f"port ({port}) in the port field."
        )
    # [2001:db8::1] is how IPv6 is written next to a port; without one the brackets are noise.
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        address: IPAddress = ipaddress.ip_address(bare)
    except ValueError:
        if _DOTTED.fullmatch(bare):
            try:
                ipaddress.IPv4Address(bare)
            except ValueError as exc:
                raise _Refused(f"The value {_show(text)} is not an IPv4 address: {exc}.") from None
        raise _Refused(f"The value {_show(text)} is not an IPv4 or IPv6 address.") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:a.b.c.d is how dual-stack servers log IPv4 clients; providers search for a.b.c.d.
        address = address.ipv4_mapped
    return address.compressed, _ip_flags(address)


def _ip_flags(address: IPAddress) -> list[str]:
    """Why an address is not public, if it is not; empty for a public address.

    Public means globally reachable per the IANA special-purpose registry
    (``ipaddress.is_global``); multicast is never a subscriber, so it is never public.
    """

    def within(networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
        return any(address in net for net in networks if net.version == address.version)

    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link_local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", within(_PRIVATE)),
        ("shared_cgnat", within(_SHARED_CGNAT)),
        ("documentation", within(_DOCUMENTATION)),
    )
    flags = [name for name, hit in checks if hit]
    if not flags and not address.is_global:
        flags.append("reserved")
    return flags


_DOMAIN_LABEL = re.compile(r"[a-z0-9-]{1,63}", re.ASCII)
_HOST_LABEL = re.compile(r"[a-z0-9_-]{1,63}", re.ASCII)


def _ascii_domain(text: str, subject: str, label: re.Pattern[str] = _DOMAIN_LABEL) -> str:
    """A domain name lower-cased and in ASCII (punycode) form; _Refused says what is wrong.

    ``subject`` begins each message ("The domain", "The part after the @").
    """
    shown = _show(text)
    name = text[:-1] if text.endswith(".") else text  # the DNS root dot names the same domain
    if not name.isascii():
        try:
            # IDNA 2008 with UTS 46 mapping: faß.de and fass.de are different domains.
            name = idna.encode(name, uts46=True).decode("ascii")
        except UnicodeError as exc:
            raise _Refused(
                f"{subject} {shown} cannot be converted to the ASCII (punycode) form that DNS "
                f"uses: {exc}."
            ) from None
    name = name.lower()
    labels = name.split(".")
    if any(not part for part in labels):
        raise _Refused(f"{subject} {shown} has an empty label (two dots in a row, or a dot first).")
    for part in labels:
        if not label.fullmatch(part):
            allowed = "letters, digits, hyphens" + (
                " and underscores" if label is _HOST_LABEL else ""
            )
            raise _Refused(
                f"{subject} {shown} may contain only {allowed} between the dots, at most 63 in "
                "each part."
            )
        if part.startswith("-") or part.endswith("-"):
            raise _Refused(f"{subject} {shown} has a part that starts or ends with a hyphen.")
        if part.startswith("xn--"):
            try:
                idna.decode(part)
            except UnicodeError:
                raise _Refused(
                    f"{subject} {shown} has a punycode part ({part}) that does not decode."
                ) from None
    if len(name) > 253:
        raise _Refused(f"{subject} {shown} is longer than 253 characters.")
    if len(labels) < 2:
        raise _Refused(
            f"{subject} {shown} has only one part; give the full name, e.g. example.com."
        )
    if labels[-1].isdigit():
        raise _Refused(
            f"{subject} {shown} ends in a number, so it is not a domain name; for an IP address "
            'use kind "ip".'
        )
    return name


def _normalise_domain(text: str) -> tuple[str, list[str]]:
    """Lower-case ASCII (punycode) domain without the root dot."""
    if "/" in text or "@" in text:
        raise _Refused(
            f"The domain {_show(text)} is not a bare domain name: give just the name "
            '(example.com), or use kind "url" or "email".'
        )
    return _ascii_domain(text, "The domain"), []


def _normalise_email(text: str) -> tuple[str, list[str]]:
    """The address with an ASCII, lower-case domain."""
    if any(char.isspace() for char in text):
        raise _Refused("The e-mail address contains a space.")
    # Quoted local parts may contain @; the domain never does.
    local, at, domain = text.rpartition("@")
    if not at:
        raise _Refused("The e-mail address has no @; give it in full, e.g. name@example.com.")
    if not local:
        raise _Refused("The e-mail address has nothing before the @.")
    if not domain:
        raise _Refused("The e-mail address has nothing after the @.")
    if len(local) > 64:
        raise _Refused("The part of the e-mail address before the @ is longer than 64 characters.")
    # RFC 5321 lets the local part be case-sensitive, but providers treat it as case-insensitive
    # and a duplicate must be found however it was typed; the original is kept in value_original.
    local = unicodedata.normalize("NFC", local).lower()
    address = f"{local}@{_ascii_domain(domain, 'The part of the e-mail address after the @')}"
    if len(address) > 254:
        raise _Refused("The e-mail address is longer than 254 characters.")
    return address, []


def _normalise_url(text: str) -> tuple[str, list[str]]:
    """The URL with a lower-case scheme and an ASCII host; path and query as given."""
    if any(char.isspace() for char in text):
        raise _Refused("The URL contains a space; percent-encode it as %20, or check the copy.")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise _Refused(
            f"The URL {_show(text)} cannot be read: check the host and the port (0 to 65535)."
        ) from None
    scheme = parts.scheme.lower()
    # "example.com:8080/page" parses with "example.com" as its scheme: no scheme was written.
    if not scheme or "." in scheme:
        raise _Refused(
            f"The URL {_show(text)} has no scheme; write it in full, e.g. https://example.com/page."
        )
    if scheme not in URL_SCHEMES:
        raise _Refused(
            f"The URL scheme {scheme!r} is not accepted; only http, https, ftp and ftps URLs are."
        )
    if not parts.hostname:
        raise _Refused(f"The URL {_show(text)} has no host, e.g. https://example.com/page.")
    userinfo, _, _ = parts.netloc.rpartition("@")
    netloc = (userinfo + "@" if userinfo else "") + _url_host(parts.hostname)
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment)), []


def _url_host(host: str) -> str:
    """A URL's host: an IP literal compressed, or a name in ASCII (underscores tolerated)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return _ascii_domain(host, "The host of the URL", _HOST_LABEL)
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


# Formatting people put in numbers; "/" is the German area-code separator.
_PHONE_FORMATTING = re.compile(r"[\s\-./()]")
_DIGITS = re.compile(r"[0-9]*", re.ASCII)


def _normalise_phone(text: str) -> tuple[str, list[str]]:
    """E.164: + and 8 to 15 digits, the first not 0."""
    compact = text
    if compact.startswith(("+", "00")):
        # "+44 (0)20 ..." marks the national trunk 0, which is not dialled from abroad.
        compact = compact.replace("(0)", "")
    compact = _PHONE_FORMATTING.sub("", compact)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not compact.startswith("+"):
        raise _Refused(
            f"The phone number {_show(text)} has no country code; write it in E.164 form, "
            "+<country code><number>, e.g. +40 21 123 4567."
        )
    digits = compact[1:]
    if not _DIGITS.fullmatch(digits):
        raise _Refused(
            f"The phone number {_show(text)} may contain only digits after the +, apart from "
            "spaces, dashes, dots and parentheses."
        )
    if digits.startswith("0"):
        raise _Refused(
            f"The phone number {_show(text)} starts its country code with 0, which no country "
            "code does; write it in E.164 form, +<country code><number>."
        )
    if not 8 <= len(digits) <= 15:
        raise _Refused(
            f"The phone number {_show(text)} has {len(digits)} digits; an E.164 number has 8 to "
            "15, country code included."
        )
    return "+" + digits, []


def _normalise_account(text: str) -> tuple[str, list[str]]:
    """The account name in Unicode NFC, case kept (services differ on case)."""
    name = unicodedata.normalize("NFC", text)
    if any(char.isspace() for char in name):
        raise _Refused(
            "The account name contains whitespace; give it exactly as the service shows it."
        )
    return name, []


_NORMALISERS: dict[str, Callable[[str], tuple[str, list[str]]]] = {
    "ip": _normalise_ip,
    "email": _normalise_email,
    "account": _normalise_account,
    "domain": _normalise_domain,
    "phone": _normalise_phone,
    "url": _normalise_url,
}
