"""The request form of the console: flat form fields to the API's checklist-shaped body.

Only shape is done here (nesting, numbers, identifier lines); every rule of substance (Art
29(2) letters, times, identifiers) is the intake service's, and its answer is shown as is.
"""

from __future__ import annotations

import re
from typing import Any

from cp247.validation import parse_ascii_int
from events.catalogue import REQUEST_TYPES

# Art 29(2) items and the form fields that give each: the live checklist of the form.
ART29_CHECKLIST: list[tuple[str, str, str, str]] = [
    # (letter, what it asks for, form fields, "any" of them or "all" of them)
    ("29.2.a", "the authority seeking preservation", "ra_contact_point ra_person", "any"),
    ("29.2.b", "the offence and a brief summary of the facts",
     "offence_description offence_summary_of_facts", "all"),
    ("29.2.c", "the data and their relation to the offence", "identifiers data_relationship",
     "all"),
    ("29.2.d", "the custodian (provider) or location", "provider_id custodian_name", "any"),
    ("29.2.e", "why preservation is necessary", "necessity", "any"),
    ("29.2.f", "that an MLA request will follow", "mla_intended", "any"),
]  # fmt: skip
IDENTIFIER_KINDS = ("ip", "email", "account", "domain", "phone", "url")

__all__ = ["ART29_CHECKLIST", "REQUEST_TYPES", "identifier_from_line", "request_body"]


# An address written with its port: IPv4 ``a.b.c.d:port``, IPv6 in brackets ``[v6]:port``
# (or in brackets alone).
ADDRESS_WITH_PORT = re.compile(
    r"(?P<v4>\d{1,3}(?:\.\d{1,3}){3}):(?P<port4>\d{1,5})"
    r"|\[(?P<v6>[0-9A-Fa-f:.]+)\](?::(?P<port6>\d{1,5}))?"
)


def identifier_from_line(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """``kind value [port] [observed at]``: ``ip 192.0.2.1 51234 2026-11-27T22:14:05-05:00``."""
    parts = line.split()
    if len(parts) < 2 or parts[0] not in IDENTIFIER_KINDS:
        return None, (
            f"Identifier line “{line}”: start with the kind ({', '.join(IDENTIFIER_KINDS)}), "
            "then the value, e.g. “ip 192.0.2.1 51234 2026-11-27T22:14:05-05:00”."
        )
    identifier: dict[str, Any] = {"kind": parts[0], "value": parts[1]}
    rest = parts[2:]
    if parts[0] == "ip" and (joined := ADDRESS_WITH_PORT.fullmatch(parts[1])):
        # As logs and e-mails write them: 185.220.101.46:44123, [2001:db8::1]:443.
        address = joined.group("v4") or joined.group("v6")
        port = joined.group("port4") or joined.group("port6")
        identifier["value"] = address
        if port:
            rest.insert(0, port)
    port = parse_ascii_int(rest[0]) if rest else None
    if port is not None:
        identifier["port"] = port
        rest.pop(0)
    if rest:
        identifier["observed_at"] = " ".join(rest)
    return identifier, None


def _given(values: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any] | None:
    picked = {key: values[name] for key, name in mapping.items() if values.get(name)}
    return picked or None


def identifier_lines(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Identifiers one a line: ``kind value [port] [observed at]``; the problems of the lines
    that cannot be read, each named."""
    problems: list[str] = []
    identifiers = []
    for line in text.splitlines():
        if line.strip():
            identifier, problem = identifier_from_line(line.strip())
            if problem:
                problems.append(problem)
            else:
                identifiers.append(identifier)
    return identifiers, problems


def request_body(values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The API body for the form's values, and the problems only the form can see."""
    identifiers, problems = identifier_lines(values.get("identifiers") or "")
    period = values.get("period_days") or ""
    period_days = parse_ascii_int(period)
    if period and period_days is None:
        problems.append("Period: give a whole number of days, e.g. 90.")
    custodian = _given(values, {"provider_id": "provider_id", "name": "custodian_name"})
    data = {
        "types": values.get("data_types") or [],
        "relationship_to_offence": values.get("data_relationship") or None,
        "identifiers": identifiers,
        "custodian": custodian,
        "period_days": period_days,
    }
    mla = values.get("mla_intended")
    body: dict[str, Any] = {
        "direction": values.get("direction") or "incoming",
        "type": values.get("type") or "preservation",
        "urgency": values.get("urgency") or "routine",
        "received_via": values.get("received_via") or "portal",
        **({"received_at": values["received_at"]} if values.get("received_at") else {}),
        "requesting_authority": _given(
            values,
            {
                "country": "ra_country",
                "contact_point": "ra_contact_point",
                "person": "ra_person",
                "email": "ra_email",
                "phone": "ra_phone",
                "reference": "ra_reference",
                "time_zone": "ra_time_zone",
            },
        )
        or {},  # fmt: skip
        "offence": _given(
            values,
            {
                "description": "offence_description",
                "summary_of_facts": "offence_summary_of_facts",
                "provisions": "offence_provisions",
            },
        ),  # fmt: skip
        "data": {k: v for k, v in data.items() if v not in (None, [])} or None,
        "necessity": values.get("necessity") or None,
        "mla_intended": {"yes": True, "no": False}.get(mla or ""),
        "counterpart_country": values.get("counterpart_country") or None,
        "emergency": _given(
            values,
            {
                "risk": "emergency_risk",
                "persons_at_risk": "emergency_persons",
                "deadline": "emergency_deadline",
            },
        ),  # fmt: skip
    }
    return {k: v for k, v in body.items() if v is not None}, problems
