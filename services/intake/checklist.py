"""What a request must contain before the receiving CP can act on it.

Art 29(2) of the Budapest Convention lists what a preservation request *shall* specify;
each letter maps to the request fields that carry it. Missing letters make the request
invalid; the API reports both the letters and the field paths.
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


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def art29_missing_items(request: dict[str, Any]) -> dict[str, list[str]]:
    """Missing Art 29(2) letters of a preservation request, each with the field paths to fill."""
    authority = request.get("requesting_authority") or {}
    offence = request.get("offence") or {}
    data = request.get("data") or {}
    custodian = data.get("custodian") or {}
    missing: dict[str, list[str]] = {}
    if _blank(authority.get("contact_point")) and _blank(authority.get("person")):
        missing["29.2.a"] = ["requesting_authority.contact_point"]
    offence_gaps = [
        f"offence.{name}"
        for name in ("description", "summary_of_facts")
        if _blank(offence.get(name))
    ]
    if offence_gaps:
        missing["29.2.b"] = offence_gaps
    data_gaps = []
    if _blank(data.get("identifiers")) and _blank(data.get("types")):
        data_gaps.append("data.identifiers")
    if _blank(data.get("relationship_to_offence")):
        data_gaps.append("data.relationship_to_offence")
    if data_gaps:
        missing["29.2.c"] = data_gaps
    if _blank(custodian.get("provider_id")) and _blank(custodian.get("name")):
        missing["29.2.d"] = ["data.custodian"]
    if _blank(request.get("necessity")):
        missing["29.2.e"] = ["necessity"]
    if request.get("mla_intended") is None:
        missing["29.2.f"] = ["mla_intended"]
    return missing
