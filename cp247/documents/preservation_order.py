"""The orders a provider receives as a PDF (to preserve data, or to disclose them), and
signed in one step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cp247.documents.letterhead import Letterhead, _zone
from cp247.documents.pdf import (
    _FALLBACK_CREATION_DATE,
    _NOT_STATED,
    _Document,
    _identifier_table,
    _letterhead_block,
    _period_days,
    _render,
    _required_time,
    _title,
    format_local,
    format_utc,
    order_number,
    pdf_exact,
    pdf_text,
)
from cp247.documents.signing import SIGNATURE_SUFFIX, Signature, Signer


@dataclass(frozen=True)
class Wording:
    """What differs between the two orders a provider receives."""

    title: str
    instruction: str
    timing: str
    data: str
    answer: str


PRESERVE = Wording(
    title="PRESERVATION ORDER",
    instruction="The provider named above is ordered to preserve expeditiously, and to keep "
    "intact, the stored computer data described below, in its possession or control, until "
    "the time stated, pending a request for its disclosure.",
    timing="Period of preservation",
    data="Data to preserve",
    answer="In the ISP portal or the ISP liaison API, under this order: acknowledge it at once; "
    "then report that the data are preserved (with the number of records), or that they are "
    "not available and why. Where another State's provider was in the communication chain, "
    "report it (country, name, what you know of the path; Art 30).",
)
DISCLOSE = Wording(
    title="ORDER TO DISCLOSE DATA",
    instruction="The provider named above is ordered to disclose the stored computer data "
    "described below, in its possession or control, by the time stated, through the ISP "
    "liaison interface of the authority below, quoting the order number. Where the data are "
    "not available, the provider shall say so and why, by the same time.",
    timing="Time to answer",
    data="Data to disclose",
    answer="In the ISP portal or the ISP liaison API, under this order: acknowledge it at once; "
    "then upload the data as files (each with its SHA-256, checked on receipt) by the time "
    "stated, or report that they are not available and why. Do not send the data by e-mail.",
)


EMERGENCY = (
    "EMERGENCY (Second Additional Protocol, Art 9): there is a significant and imminent risk "
    "to the life or safety of a natural person. Answer within hours, by the time stated "
    "below, and call the duty officer at once if the data cannot be given by then."
)


def render_preservation_order(
    order: Mapping[str, Any], letterhead: Letterhead, local_zone: str | None = None
) -> bytes:
    """The order as served at ``GET /api/v1/isp/orders/{order_id}/document``: a preservation
    order, or an order to disclose data where ``order["kind"]`` is ``disclosure``.

    ``order`` has the keys of the ISP order view (order_id, case_id, provider_id, identifiers,
    data_types, issued_at, expires_at or due_by, legal_basis; optional period_days,
    provider_name, request_id). ``local_zone`` (IANA) defaults to the letterhead's zone. The
    status is not printed: it changes after issue, and the document - and its recorded digest
    - must not. Raises ``ValueError`` for unparseable times and ``ConfigurationError`` for an
    unknown zone.
    """
    zone_name = local_zone or letterhead.time_zone or "UTC"
    zone = _zone(zone_name, "local time zone")
    issued = _required_time(order, "issued_at")
    disclosure = order.get("kind") == "disclosure"
    wording = DISCLOSE if disclosure else PRESERVE
    number = order_number(order)
    title = wording.title if issued else f"{wording.title} - DRAFT, NOT ISSUED"
    if order.get("emergency"):
        title = f"EMERGENCY - {title}"

    def when(moment: datetime | None) -> str:
        if moment is None:
            return "Not yet issued."
        return f"{format_utc(moment)}\n{format_local(moment, zone)}"

    def timing() -> list[tuple[str, str]]:
        if disclosure:
            due_by = _required_time(order, "due_by")
            return [("Issued at", when(issued)), ("Disclose by", when(due_by))]
        expires = _required_time(order, "expires_at")
        period = _period_days(order, issued, expires)
        return [
            ("Issued at", when(issued)),
            ("Preserve until", when(expires) if expires else "Set at issue."),
            ("Period", f"{period} days" if period is not None else _NOT_STATED),
        ]

    def build(pdf: _Document) -> None:
        _letterhead_block(pdf, letterhead)
        _title(pdf, title)
        provider = str(order.get("provider_id") or "-")
        if order.get("provider_name"):
            provider = f"{order['provider_name']} ({provider})"
        pdf.pairs(
            [
                ("Order number", pdf_text(number)),
                ("Order ID", pdf_exact(order.get("order_id") or "-")),
                ("Case reference", pdf_exact(order.get("case_id") or "-")),
            ]
            + (
                [("Request reference", pdf_exact(order["request_id"]))]
                if order.get("request_id")
                else []
            )
            + [("Addressed to", pdf_text(provider))]
            + (
                [("Ordered by", pdf_text(_who(order["issued_by"])))]
                if order.get("issued_by")
                else []
            )
        )
        pdf.heading("Legal basis")
        pdf.line_text(pdf_text(order.get("legal_basis") or _NOT_STATED))
        pdf.ln(1)
        if order.get("emergency"):
            pdf.line_text(pdf_text(EMERGENCY))
            pdf.ln(1)
        pdf.line_text(pdf_text(wording.instruction))
        pdf.heading(wording.timing)
        pdf.pairs(timing())
        pdf.heading(wording.data)
        types = order.get("data_types") or []
        pdf.pairs([("Types of data", pdf_text(", ".join(map(str, types)) or _NOT_STATED))])
        pdf.ln(1)
        _identifier_table(pdf, order.get("identifiers") or [], zone, zone_name)
        pdf.line_text(
            pdf_text(
                "Each time is given in UTC, in local time and exactly as the requester wrote it. "
                "Where a port is given, the subscriber is identified by address, port and time "
                "together."
            ),
            size=8,
            height=4,
        )
        pdf.heading("Confidentiality")
        pdf.line_text(
            pdf_text(
                "The provider shall keep this order and its execution confidential and shall "
                "not inform the subscriber or any third party (Budapest Convention Art 16(3))."
            )
        )
        pdf.heading("How to answer")
        pdf.line_text(pdf_text(wording.answer))
        pdf.heading("Contact")
        pdf.line_text(
            pdf_text(
                f"{letterhead.unit}, {letterhead.authority_name}: telephone {letterhead.phone}"
                + (f", fax {letterhead.fax}" if letterhead.fax else "")
                + f", e-mail {letterhead.email}. Available 24 hours a day, 7 days a week. "
                f"Quote order number {number}."
            )
        )
        _signature_block(pdf, letterhead, issued)

    return _render(build, letterhead, number, issued or _FALLBACK_CREATION_DATE, title)


def _who(actor: Mapping[str, Any]) -> str:
    """The officer who issued the order, as the document names them: a prosecutor's approval
    is the prosecutor's order, not the duty desk's."""
    role = {"prosecution": "prosecutor", "police": "police officer"}.get(
        str(actor.get("role")), str(actor.get("role") or "")
    )
    return f"{actor.get('username') or '-'}, {role} of the 24/7 point of contact"


def _signature_block(pdf: _Document, letterhead: Letterhead, dated: datetime | None) -> None:
    # A signatory line alone at the top of a page, cut off from the text it signs, invites the
    # question whether pages were swapped: move the whole block when it would not fit.
    if pdf.get_y() + 36 > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(4)
    place = f"{letterhead.city}, {dated.astimezone(UTC).date().isoformat()}" if dated else ""
    if place:
        pdf.line_text(pdf_text(place))
    pdf.ln(3)
    pdf.line_text(pdf_text(letterhead.signatory_name), style="B")
    pdf.line_text(pdf_text(letterhead.signatory_title))
    pdf.line_text(pdf_text(letterhead.authority_name))
    pdf.ln(2)
    pdf.line_text(
        pdf_text(
            "Signed electronically with a detached Ed25519 signature (file with the suffix "
            f"'{SIGNATURE_SUFFIX}'). Verify with: cp247 documents verify FILE."
        ),
        size=8,
        height=4,
    )


@dataclass(frozen=True)
class SignedDocument:
    """A rendered document and its detached signature (``signature.sha256`` goes on the
    timeline)."""

    pdf: bytes = field(repr=False)  # kilobytes of PDF are no use in a log line
    signature: Signature


def render_signed_order(
    order: Mapping[str, Any],
    letterhead: Letterhead,
    signer: Signer,
    local_zone: str | None = None,
    signed_at: datetime | None = None,
) -> SignedDocument:
    """Render the order and sign the bytes in one step."""
    pdf = render_preservation_order(order, letterhead, local_zone)
    return SignedDocument(pdf=pdf, signature=signer.sign(pdf, signed_at))
