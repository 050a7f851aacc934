"""PDF primitives of cp247's documents: Latin-1 text, times, the page layout."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from cp247.clock import format_in_zone, format_utc
from cp247.documents.letterhead import Letterhead

# When a document has no date of its own (a draft order, a letter without a date), the PDF
# creation date must still be fixed, or two renderings of the same input would differ.
_FALLBACK_CREATION_DATE = datetime(2000, 1, 1, tzinfo=UTC)


# Typographic characters people paste from word processors; outside Latin-1, with an obvious
# ASCII stand-in. (Characters NFKD cannot decompose, like the Polish L-stroke, are listed too.)
_TRANSLITERATION = {
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2026": "...",
    "\u2022": "*",
    "\u2032": "'",
    "\u2033": '"',
    "\u2212": "-",
    "\u20ac": "EUR",
    "\u2116": "No.",
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u0131": "i",
    "\u0126": "H",
    "\u0127": "h",
}


def _is_latin1_printable(ch: str) -> bool:
    return ord(ch) < 256 and unicodedata.category(ch) not in ("Cc", "Cf")


def pdf_text(value: Any) -> str:
    """Prose for a core-font PDF: Latin-1, transliterated where possible, else ``?``."""
    if value is None:
        return ""
    out: list[str] = []
    for ch in str(value):
        if ch == "\n" or _is_latin1_printable(ch):
            out.append(ch)
        elif ch in ("\t", "\r"):
            out.append(" " if ch == "\t" else "")
        elif ch in _TRANSLITERATION:
            out.append(_TRANSLITERATION[ch])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Mn"):
            continue  # invisible or combining: nothing to print
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if unicodedata.category(c) != "Mn"
            )
            out.append(base if base and all(_is_latin1_printable(c) for c in base) else "?")
    return "".join(out)


def pdf_exact(value: Any) -> str:
    """An identifier for a core-font PDF: every character either itself or ``<U+hhhh>``, so
    a reader can tell exactly what to preserve."""
    if value is None:
        return ""
    return "".join(ch if _is_latin1_printable(ch) else f"<U+{ord(ch):04X}>" for ch in str(value))


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _required_time(order: Mapping[str, Any], key: str) -> datetime | None:
    value = order.get(key)
    if value in (None, ""):
        return None
    moment = _parse_time(value)
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"order {key} must be an ISO 8601 time with an offset, got {value!r}")
    return moment


# The documents show times as the consoles and messages do (cp247.clock).
format_local = format_in_zone


def order_number(order: Mapping[str, Any]) -> str:
    """Short human number: ``PO-<year issued>-<first 8 hex of order_id>`` (``DO-`` for an
    order to disclose data); ``DRAFT`` for the year of an order not yet issued."""
    issued = _parse_time(order.get("issued_at"))
    year = str(issued.astimezone(UTC).year) if issued and issued.tzinfo else "DRAFT"
    head = re.sub(r"[^0-9a-fA-F]", "", str(order.get("order_id", "")))[:8].upper()
    prefix = "DO" if order.get("kind") == "disclosure" else "PO"
    return f"{prefix}-{year}-{head or 'UNKNOWN'}"


def _period_days(
    order: Mapping[str, Any], issued: datetime | None, expires: datetime | None
) -> int | None:
    period = order.get("period_days")
    if isinstance(period, int) and not isinstance(period, bool):
        return period
    if issued and expires:
        return round((expires - issued).total_seconds() / 86400)
    return None


# --------------------------------------------------------------------------------------------
# PDF building blocks
# --------------------------------------------------------------------------------------------

_MARGIN = 15
_NOT_STATED = "Not stated."


class _Document(FPDF):
    """A4 page with the letterhead footer and "Page n of N"."""

    def __init__(self, letterhead: Letterhead, reference: str):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.letterhead = letterhead
        self.reference = reference
        # Not fpdf2's "{nb}": it would be substituted inside any text, including identifiers
        # a requester typed. A fresh random alias cannot be typed in advance, and saves the
        # second rendering pass that counting pages first would cost (half of an order's CPU).
        self.pages_alias = "{" + secrets.token_hex(6) + "}"
        self.alias_nb_pages(self.pages_alias)
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(auto=True, margin=22)
        self.core_fonts_encoding = "latin-1"

    def footer(self) -> None:
        self.set_y(-16)
        self.set_font("Helvetica", "", 7)
        self.set_text_color(90, 90, 90)
        self.cell(
            0,
            3.5,
            pdf_text(f"{self.reference} - page {self.page_no()} of ") + self.pages_alias,
            align="L",  # fpdf2 sizes the alias as wide as itself: right-aligned it would drift
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        if self.letterhead.footer:
            self.paragraph(pdf_text(self.letterhead.footer), 3.5, align="C")
        self.set_text_color(0, 0, 0)

    # --- writing helpers -------------------------------------------------------------------
    def paragraph(self, text: str, height: float, align: str = "L") -> None:
        """``text`` from the current x to the right margin, wrapped at spaces (a word wider
        than the line is broken between characters), one ``cell`` a line; then the next line
        at the left margin.

        fpdf2's ``multi_cell`` measures the whole line again for every character it adds:
        that made up a third of an order's CPU. Here each word is measured once.
        """
        left = self.get_x()
        width = self.w - self.r_margin - left
        for line in self._wrap(text, width - 2 * self.c_margin):
            self.set_x(left)
            self.cell(width, height, line, align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_x(self.l_margin)

    def _wrap(self, text: str, room: float) -> list[str]:
        lines: list[str] = []
        space = self.get_string_width(" ")
        for paragraph in text.split("\n"):
            line, used = "", 0.0
            for word in paragraph.split(" "):
                size = self.get_string_width(word)
                gap = space if line or used else 0.0
                if used + gap + size <= room:
                    line, used = (line + " " + word if gap else word), used + gap + size
                    continue
                if line or used:
                    lines.append(line)
                while size > room:  # a word (an identifier, a URL) longer than a line
                    cut = self._fitting(word, room)
                    lines.append(word[:cut])
                    word = word[cut:]
                    size = self.get_string_width(word)
                line, used = word, size
            lines.append(line)
        return lines

    def _fitting(self, word: str, room: float) -> int:
        """How many leading characters of ``word`` fit in ``room`` (at least one)."""
        used = 0.0
        for count, char in enumerate(word):
            used += self.get_string_width(char)
            if used > room:
                return max(count, 1)
        return len(word)

    def line_text(self, text: str, size: float = 10, style: str = "", height: float = 5) -> None:
        self.set_font("Helvetica", style, size)
        self.paragraph(text, height)

    def heading(self, text: str) -> None:
        # Keep a heading with at least two lines of what it introduces.
        if self.get_y() + 18 > self.page_break_trigger:
            self.add_page()
        self.ln(1.5)
        self.line_text(pdf_text(text), size=11, style="B", height=5.5)

    def pairs(self, rows: Iterable[tuple[str, str]]) -> None:
        """Label/value lines; the value wraps under itself, not under the label."""
        for label, value in rows:
            self.set_font("Helvetica", "B", 10)
            self.cell(48, 5, pdf_text(label))
            self.set_font("Helvetica", "", 10)
            self.paragraph(value, 5)

    def rule(self) -> None:
        self.ln(1)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)


def _letterhead_block(pdf: _Document, letterhead: Letterhead) -> None:
    pdf.line_text(pdf_text(letterhead.authority_name), size=14, style="B", height=7)
    pdf.line_text(pdf_text(letterhead.unit), size=11, height=5.5)
    for line in letterhead.address_lines:
        pdf.line_text(pdf_text(line), size=9, height=4.5)
    pdf.line_text(pdf_text(f"{letterhead.city}, {letterhead.country}"), size=9, height=4.5)
    contact = [f"Tel. {letterhead.phone}"]
    if letterhead.fax:
        contact.append(f"Fax {letterhead.fax}")
    contact.append(f"E-mail {letterhead.email}")
    pdf.line_text(pdf_text("  |  ".join(contact)), size=9, height=4.5)
    pdf.rule()


def _title(pdf: _Document, title: str) -> None:
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 15)
    pdf.paragraph(pdf_text(title), 7.5, align="C")  # a long title wraps, never runs off
    pdf.ln(2)


def _identifier_table(
    pdf: _Document, identifiers: Sequence[Mapping[str, Any]], zone: ZoneInfo, fallback_zone: str
) -> None:
    """One row per identifier: the value exactly, the port, and its time in UTC, in local time
    and as the requester wrote it. The times share one column so the identifier gets the width
    (an IPv6 address or a URL broken over lines is easy to misread)."""
    if not identifiers:
        pdf.line_text(pdf_text("No identifiers given."))
        return
    with_service = any(item.get("service") for item in identifiers)
    headings = ["#", "Kind", "Identifier", "Port"]
    widths = [6.0, 14.0, 62.0, 12.0]
    if with_service:
        headings.append("Service")
        widths.append(20.0)
    headings.append(f"Observed (UTC; local = {zone.key})")
    widths.append(180.0 - sum(widths))
    pdf.set_font("Helvetica", "", 8)
    with pdf.table(
        col_widths=tuple(widths),
        width=180,
        text_align="LEFT",
        line_height=4,
        padding=1,
        first_row_as_headings=True,
    ) as table:
        row = table.row()
        for heading in headings:
            row.cell(pdf_text(heading))
        for number, item in enumerate(identifiers, start=1):
            port = item.get("port")
            cells = [
                str(number),
                pdf_text(item.get("kind") or "-"),
                pdf_exact(item.get("value") or "-"),
                "-" if port in (None, "") else pdf_exact(port),
            ]
            if with_service:
                cells.append(pdf_text(item.get("service") or "-"))
            cells.append(_observed(item, zone, fallback_zone))
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(1)


def _observed(item: Mapping[str, Any], zone: ZoneInfo, fallback_zone: str) -> str:
    """UTC, local and as-written lines for an identifier's time. A time without an offset is
    read in the zone the requester declared and marked so, never silently taken as UTC."""
    raw = item.get("observed_at")
    if raw in (None, ""):
        return "-"
    as_written = f"As written: {pdf_exact(item.get('observed_at_text') or raw)}"
    moment = _parse_time(raw)
    if moment is None:
        return f"Not a valid time.\n{as_written}"
    note = ""
    if moment.tzinfo is None:
        declared = item.get("observed_at_zone") or fallback_zone
        try:
            moment = moment.replace(tzinfo=ZoneInfo(str(declared)))
        except (ZoneInfoNotFoundError, ValueError):
            return f"Unknown: no UTC offset and no time zone given.\n{as_written}"
        note = f" (read in {pdf_text(declared)})"
    utc = format_utc(moment) + note
    local = format_local(moment, zone, with_zone_name=False)
    return f"UTC: {utc}\nLocal: {local}\n{as_written}"


def _render(
    build: Callable[[_Document], None],
    letterhead: Letterhead,
    reference: str,
    creation: datetime,
    title: str,
) -> bytes:
    pdf = _Document(letterhead, reference)
    pdf.set_creation_date(creation)
    pdf.set_title(pdf_text(title))
    pdf.set_author(pdf_text(letterhead.authority_name))
    pdf.set_subject(pdf_text(reference))
    pdf.set_creator("cp247")
    pdf.add_page()
    build(pdf)
    return bytes(pdf.output())
