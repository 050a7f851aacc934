"""What a request must contain before the receiving CP can act on it, and what it should.

Art 29(2) of the Budapest Convention lists what a preservation request *shall* specify;
each letter maps to the request fields that carry it. Other request types have their own
mandatory facts (the emergency for P2 Art 9, the data for formal MLA). The Ohrid checklist
(seed appendix) and the T-CY preservation template add what a request *should* carry: those
gaps are warnings, and their share gives the request's completeness score.
"""

from __future__ import annotations

from typing import Any

ART29_ITEMS: dict[str, tuple[str, str]] = {
    "29.2.a": ("requesting_authority.contact_point", "the authority seeking preservation"),
    "29.2.b": ("offence.summary_of_facts", "the offence and a brief summary of the facts"),
    "29.2.c": ("data.relationship_to_offence", "the data to preserve and its relation to it"),
    "29.2.d": ("data.custodian", "the custodian (provider) or location of the system"),
    "29.2.e": ("necessity", "why preservation is necessary"),
    "29.2.f": ("mla_intended", "that an MLA request will follow"),
}

MLA_TYPES = ("mla_stored_data", "mla_realtime_traffic", "mla_interception")
ADVICE_TYPES = ("technical_advice", "legal_information", "locate_suspect")


def _get(request: dict[str, Any], path: str) -> Any:
    value: Any = request
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


# legal-rule: art29-2-mandatory-items
def art29_missing_items(request: dict[str, Any]) -> dict[str, list[str]]:
    """Missing Art 29(2) letters of a preservation request, each with the field paths to fill."""
    missing: dict[str, list[str]] = {}
    if all(_blank(_get(request, f"requesting_authority.{k}")) for k in ("contact_point", "person")):
        missing["29.2.a"] = ["requesting_authority.contact_point"]
    offence_gaps = [
        p for p in ("offence.description", "offence.summary_of_facts") if _blank(_get(request, p))
    ]
    if offence_gaps:
        missing["29.2.b"] = offence_gaps
    data_gaps = []
    if _blank(_get(request, "data.identifiers")) and _blank(_get(request, "data.types")):
        data_gaps.append("data.identifiers")
    if _blank(_get(request, "data.relationship_to_offence")):
        data_gaps.append("data.relationship_to_offence")
    if data_gaps:
        missing["29.2.c"] = data_gaps
    # legal-rule: art29-2-d-custodian-or-location
    custodian_named = not all(
        _blank(_get(request, f"data.custodian.{k}")) for k in ("provider_id", "name")
    )
    if not custodian_named and not locates_system(_get(request, "data.identifiers") or []):
        missing["29.2.d"] = ["data.custodian"]
    if _blank(request.get("necessity")):
        missing["29.2.e"] = ["necessity"]
    # legal-rule: art29-2-f-mla-intended
    if request.get("mla_intended") is not True:  # the statement is mandatory: false will not do
        missing["29.2.f"] = ["mla_intended"]
    return missing


# Identifiers that locate the computer system itself (Art 29(2)(d) "location of the system").
LOCATING_KINDS = ("ip", "domain", "url")


def locates_system(identifiers: list[Any]) -> bool:
    """Whether an identifier locates the system (an IP address, a domain, a URL)."""
    return any(
        isinstance(i, dict) and i.get("kind") in LOCATING_KINDS and not _blank(i.get("value"))
        for i in identifiers
    )


# Mandatory facts of the other types: (field path, why it is needed).
REQUIRED_BY_TYPE: dict[str, list[tuple[str, str]]] = {
    "traffic_disclosure": [  # legal-rule: art30-mandatory-facts
        ("offence.description", "Art 30: the offence the traffic data relates to"),
        ("data.identifiers", "Art 30: the communication to trace (addresses, times)"),
        ("data.custodian", "Art 30: the provider holding the preserved traffic data"),
    ],
    "subscriber_identification": [
        ("offence.description", "the offence, to assess the request"),
        ("data.identifiers", "the address, e-mail or account to identify"),
    ],
    "emergency_disclosure": [  # legal-rule: p2-art9-mandatory-facts
        ("emergency.risk", "P2 Art 9: the imminent risk to the life or safety of a person"),
        ("offence.summary_of_facts", "P2 Art 9: the facts that show the emergency"),
        ("data.identifiers", "P2 Art 9: the data sought to avert the risk"),
    ],
    **{
        mla: [
            ("offence.description", "formal MLA: the offence"),
            ("offence.summary_of_facts", "formal MLA: a summary of the facts"),
            ("offence.provisions", "formal MLA: the legal provisions applied"),
            ("data.types", "formal MLA: the kind of data sought"),
            ("data.relationship_to_offence", "formal MLA: how the data relate to the offence"),
            ("responsible_authority.name", "formal MLA: the competent authority"),
        ]
        for mla in MLA_TYPES
    },
    **{
        advice: [("offence.description", "what the question or the matter is about")]
        for advice in ADVICE_TYPES
    },
}


def required_fields_missing(request: dict[str, Any]) -> dict[str, list[str]]:
    """Field path -> reason, for the mandatory facts of a non-preservation request."""
    missing: dict[str, list[str]] = {}
    kind = request["type"]
    for path, why in REQUIRED_BY_TYPE.get(kind, []):
        if _blank(_get(request, path)):
            missing[path] = [f"required for {kind}: {why}"]
    if kind in ADVICE_TYPES and all(
        _blank(_get(request, f"requesting_authority.{k}")) for k in ("contact_point", "person")
    ):
        missing["requesting_authority.contact_point"] = ["who to answer: a unit or a person"]
    if kind == "subscriber_identification":
        for index, identifier in enumerate(_get(request, "data.identifiers") or []):
            if identifier.get("kind") == "ip" and _blank(identifier.get("observed_at")):
                missing[f"data.identifiers.{index}.observed_at"] = [
                    "an IP address identifies a subscriber only with the exact time and zone"
                ]
    return missing


# Recommended by the Ohrid checklist and the T-CY template, for every request.
RECOMMENDED_COMMON = [
    "requesting_authority.person",
    "requesting_authority.city",
    "requesting_authority.phone",
    "requesting_authority.email",
    "requesting_authority.reference",
    "requesting_authority.date",
    "requesting_authority.time_zone",
    "responsible_authority.name",
    "responsible_authority.case_number",
    "offence.provisions",
    "offence.max_penalty",
]
RECOMMENDED_BY_TYPE: dict[str, list[str]] = {
    "preservation": [
        "data.types",
        "data.identifiers",
        "data.period_days",
        "follow_up.partial_disclosure_requested",
        "follow_up.feedback_requested",
    ],
    "traffic_disclosure": ["data.types", "follow_up.feedback_requested"],
    "subscriber_identification": ["data.custodian", "follow_up.feedback_requested"],
    "emergency_disclosure": ["emergency.persons_at_risk", "data.custodian"],
}


def recommended_gaps(request: dict[str, Any]) -> tuple[list[str], float]:
    """Recommended items that are missing, and the completeness score (0..1, two decimals)."""
    items = RECOMMENDED_COMMON + RECOMMENDED_BY_TYPE.get(request["type"], [])
    gaps = [path for path in items if _blank(_get(request, path))]
    return gaps, round(1 - len(gaps) / len(items), 2)
