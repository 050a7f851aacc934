"""The signed-letter form of an outgoing preservation request (seed appendix checklist)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from cp247.documents.letterhead import Letterhead, _zone
from cp247.documents.pdf import (
    _FALLBACK_CREATION_DATE,
    _NOT_STATED,
    _Document,
    _identifier_table,
    _letterhead_block,
    _parse_time,
    _render,
    _title,
    pdf_text,
)
from cp247.documents.preservation_order import _signature_block

# The appendix checklist, in its order; the letter prints every heading, "Not stated." where
# the request lacks the item, so a gap is visible to the signatory before the letter goes out.
CHECKLIST_HEADINGS = (
    "1. Requesting authority",
    "2. Responsible authority and case number",
    "3. Offence, legal provisions and maximum penalty",
    "4. Summary of facts",
    "5. Related investigations and earlier requests",
    "6. Data to preserve",
    "7. Custodian of the data",
    "8. Necessity of preservation",
    "9. Intention to submit a mutual legal assistance request",
    "10. Partial disclosure and feedback",
    "11. Period of preservation",
)


def _letter_date(request: Mapping[str, Any]) -> datetime | None:
    """The letter's date: when the request was registered, else the date the requesting
    authority put on it."""
    for key in ("registered_at", "received_at", "created_at"):
        moment = _parse_time(request.get(key))
        if moment is not None and moment.tzinfo is not None:
            return moment
    authority = request.get("requesting_authority") or {}
    try:
        day = date.fromisoformat(str(authority.get("date")))
    except ValueError:
        return None
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def _yes_no(value: Any) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return _NOT_STATED


def render_outgoing_request(
    request: Mapping[str, Any], letterhead: Letterhead, local_zone: str | None = None
) -> bytes:
    """A signed-letter form of an outgoing preservation request (``POST /api/v1/requests``
    body shape; missing keys print "Not stated."), for destinations that want a letter on
    letterhead. Local times are in ``local_zone``, else the requesting authority's
    ``time_zone``, else the letterhead's zone.
    """
    authority: Mapping[str, Any] = request.get("requesting_authority") or {}
    responsible: Mapping[str, Any] = request.get("responsible_authority") or {}
    offence: Mapping[str, Any] = request.get("offence") or {}
    data: Mapping[str, Any] = request.get("data") or {}
    custodian: Mapping[str, Any] = data.get("custodian") or {}
    follow_up: Mapping[str, Any] = request.get("follow_up") or {}
    declared_zone = str(authority.get("time_zone") or letterhead.time_zone or "UTC")
    zone_name = local_zone or declared_zone
    zone = _zone(zone_name, "local time zone")
    dated = _letter_date(request)
    reference = str(authority.get("reference") or request.get("request_id") or "")
    label = f"Preservation request {reference}".strip()
    title = "REQUEST FOR EXPEDITED PRESERVATION OF STORED COMPUTER DATA"

    def stated(value: Any) -> str:
        return pdf_text(value) if value not in (None, "", []) else _NOT_STATED

    def build(pdf: _Document) -> None:
        _letterhead_block(pdf, letterhead)
        destination = request.get("counterpart_country") or custodian.get("country")
        pdf.pairs(
            [
                ("To", stated(f"24/7 point of contact, {destination}" if destination else None)),
                ("Our reference", stated(reference)),
                ("Date", stated(dated.date().isoformat() if dated else authority.get("date"))),
                ("Legal basis", "Budapest Convention (CETS 185) Art 29 and Art 35"),
            ]
        )
        _title(pdf, title)

        pdf.heading(CHECKLIST_HEADINGS[0])
        pdf.pairs(
            [
                ("Authority", stated(authority.get("contact_point") or letterhead.authority_name)),
                ("Unit", stated(letterhead.unit)),
                ("Person", stated(authority.get("person"))),
                (
                    "City / country",
                    stated(
                        ", ".join(
                            str(part)
                            for part in (
                                authority.get("city") or letterhead.city,
                                authority.get("country") or letterhead.country,
                            )
                            if part
                        )
                    ),
                ),
                ("Telephone", stated(authority.get("phone") or letterhead.phone)),
                ("Fax", stated(authority.get("fax") or letterhead.fax)),
                ("E-mail", stated(authority.get("email") or letterhead.email)),
                ("Reference", stated(authority.get("reference"))),
                ("Time zone", stated(declared_zone)),
            ]
        )
        pdf.heading(CHECKLIST_HEADINGS[1])
        pdf.pairs(
            [
                ("Authority", stated(responsible.get("name"))),
                ("Contact", stated(responsible.get("contact"))),
                ("Case / file number", stated(responsible.get("case_number"))),
            ]
        )
        pdf.heading(CHECKLIST_HEADINGS[2])
        pdf.pairs(
            [
                ("Offence", stated(offence.get("description"))),
                ("Legal provisions", stated(offence.get("provisions"))),
                ("Maximum penalty", stated(offence.get("max_penalty"))),
            ]
        )
        pdf.heading(CHECKLIST_HEADINGS[3])
        pdf.line_text(stated(offence.get("summary_of_facts")))
        pdf.heading(CHECKLIST_HEADINGS[4])
        related = offence.get("related_requests") or []
        pdf.line_text(
            pdf_text("\n".join(f"- {item}" for item in related)) if related else "None stated."
        )
        pdf.heading(CHECKLIST_HEADINGS[5])
        pdf.pairs(
            [
                ("Types of data", stated(", ".join(map(str, data.get("types") or [])))),
                ("Relationship to offence", stated(data.get("relationship_to_offence"))),
            ]
        )
        pdf.ln(1)
        _identifier_table(pdf, data.get("identifiers") or [], zone, declared_zone)
        pdf.heading(CHECKLIST_HEADINGS[6])
        pdf.pairs(
            [
                ("Provider", stated(custodian.get("name") or custodian.get("provider_id"))),
                ("Provider id", stated(custodian.get("provider_id"))),
                ("Country", stated(custodian.get("country"))),
            ]
        )
        pdf.heading(CHECKLIST_HEADINGS[7])
        pdf.line_text(stated(request.get("necessity")))
        pdf.heading(CHECKLIST_HEADINGS[8])
        intended = request.get("mla_intended")
        pdf.line_text(
            pdf_text(
                "The requesting Party intends to submit a request for mutual assistance for "
                "the search, seizure or disclosure of the preserved data."
                if intended is True
                else "No mutual legal assistance request is intended at present."
                if intended is False
                else _NOT_STATED
            )
        )
        pdf.heading(CHECKLIST_HEADINGS[9])
        pdf.pairs(
            [
                (
                    "Partial disclosure wanted",
                    _yes_no(follow_up.get("partial_disclosure_requested")),
                ),
                ("Feedback wanted", _yes_no(follow_up.get("feedback_requested"))),
            ]
        )
        pdf.heading(CHECKLIST_HEADINGS[10])
        period = data.get("period_days")
        pdf.line_text(pdf_text(f"{period} days" if period not in (None, "") else _NOT_STATED))
        _signature_block(pdf, letterhead, dated)

    return _render(build, letterhead, label, dated or _FALLBACK_CREATION_DATE, title)
