"""The oversight dashboard: the seed's tables as figures and charts, with exports. It reads
only ``/api/v1/stats`` and the audit verdict: no case, name, identifier or free text."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from cp247.clock import utcnow
from cp247.validation import parse_ascii_int
from services.gateway.console.web import ApiError, Session, page

OVERSIGHT = ("oversight", "admin")
FAMILIES = (("preservation", "Preservation (Arts 29, 30)"), ("mla", "MLA (Arts 31, 33, 34)"),
            ("other", "Other"))  # fmt: skip
MEDIANS = {
    "receipt_to_acknowledgement": "Receipt to acknowledgement to the requesting CP",
    "receipt_to_order_issued": "Receipt to preservation order issued",
    "order_issued_to_provider_acknowledgement": "Order issued to provider's acknowledgement",
    "mla_recorded_to_decision": "MLA recorded to decision",
    "sent_to_foreign_receipt": "Our request sent to the foreign CP's receipt",
    "sent_to_foreign_answer": "Our request sent to the foreign CP's answer",
    "identification_receipt_to_production": "Identification: receipt to the provider's data",
    "identification_receipt_to_transmission": "Identification: receipt to data sent",
    "emergency_receipt_to_production": "Emergency: receipt to the provider's data",
    "emergency_receipt_to_transmission": "Emergency: receipt to data sent",
}


def duration(seconds: Any) -> str:
    if seconds is None:
        return "no case yet"
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def bar_chart(title: str, bars: list[tuple[str, int]], width: int = 440) -> dict[str, Any]:
    """Geometry of a horizontal bar chart; the template draws it as SVG (no script)."""
    top = max([value for _, value in bars] + [1])
    row, label_width = 26, 180
    return {
        "title": title,
        "width": width,
        "height": row * max(len(bars), 1) + 10,
        "rows": [
            {"y": i * row + 5, "label": label, "value": value,
             "length": round((width - label_width - 60) * value / top), "x": label_width}
            for i, (label, value) in enumerate(bars)
        ],
    }  # fmt: skip


def _year(s: Session) -> int:
    text = s.request.args.get("year", "")
    year = parse_ascii_int(text)  # "²" is a digit to str.isdigit(), not to int()
    return year if year is not None and 2000 <= year <= 2100 else utcnow().year


def _figures(s: Session) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The figures asked for: a run of months (``from``, ``to``) when both are given and the
    API takes them, else a year; with their label and the query that names them again."""
    first, last = s.request.args.get("from"), s.request.args.get("to")
    if first and last:
        try:
            stats = s.api("GET", "/api/v1/stats", **{"from": first, "to": last})
            return stats, f"{first} to {last}", {"from": first, "to": last}
        except ApiError as exc:
            if exc.status != 422:
                raise  # a period the API refuses: the year's figures instead, as for a year
    year = _year(s)
    return s.api("GET", "/api/v1/stats", year=year), str(year), {"year": year}


class OversightPages:
    @page("/oversight", "GET", OVERSIGHT)
    def oversight(self, s: Session) -> Response:
        stats, year, query = _figures(s)
        requests = stats["requests"]
        charts = [
            bar_chart(f"Requests received in {year}",
                      [(words, requests["received"][key]) for key, words in FAMILIES]),
            bar_chart(f"Requests sent in {year}",
                      [(words, requests["sent"][key]) for key, words in FAMILIES]),
        ]  # fmt: skip
        for direction in ("received", "sent"):
            countries = sorted(stats["by_country"][direction].items(), key=lambda kv: -kv[1])
            if countries:
                charts.append(bar_chart(f"{direction.title()} by counterpart country",
                                        countries[:12]))  # fmt: skip
        medians = [(words, duration(stats["median_seconds"].get(key)))
                   for key, words in MEDIANS.items()]  # fmt: skip
        return s.render("oversight.html", stats=stats, year=year, charts=charts,
                        medians=medians, families=FAMILIES, query=urlencode(query))  # fmt: skip

    @page("/oversight/audit", "GET", OVERSIGHT)
    def oversight_audit(self, s: Session) -> Response:
        """The quick check (since the last checkpoint) and, with ``?job=``, a full
        re-verification's progress (the page reloads itself until it is done)."""
        job, job_id = None, s.request.args.get("job")
        if job_id:
            try:
                job = s.api("GET", f"/api/v1/audit/verifications/{job_id}")
            except ApiError as exc:
                if exc.status != 404:
                    raise
        report = s.api("GET", "/api/v1/audit/verify")
        return s.render("oversight_audit.html", report=report, job=job)

    @page("/oversight/reads", "GET", OVERSIGHT)
    def oversight_reads(self, s: Session) -> Response:
        """The read audit as figures per user and month (``from``, ``to``; default this
        month); a period the API refuses falls back to this month, saying so."""
        asked = {k: v for k in ("from", "to") if (v := s.request.args.get(k, "").strip())}
        refused = None
        try:
            figures = s.api("GET", "/api/v1/audit/read-figures", **asked)
        except ApiError as exc:
            if exc.status != 422:
                raise
            refused = " ".join(exc.sentences)
            figures = s.api("GET", "/api/v1/audit/read-figures")
        return s.render("oversight_reads.html", figures=figures, refused=refused)

    @page("/oversight/audit/verifications", "POST", OVERSIGHT)
    def start_verification(self, s: Session) -> Response:
        job = s.api("POST", "/api/v1/audit/verifications")
        return redirect(f"/oversight/audit?job={job['verification_id']}", code=303)

    @page("/oversight/export.<kind>", "GET", OVERSIGHT)
    def oversight_export(self, s: Session, kind: str) -> Response:
        stats, year, _ = _figures(s)
        year = year.replace(" to ", "_")
        if kind == "json":
            body, mimetype = json.dumps(stats, indent=2), "application/json"
        elif kind == "csv":
            body, mimetype = _csv(stats), "text/csv"
        else:
            return s.render("error.html", status=404, sentences=["Export as csv or json."])
        response = Response(body, mimetype=mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="cp247-{year}.{kind}"'
        return response


def _csv(stats: dict[str, Any]) -> str:
    """One figure a row: section, item, value (what a spreadsheet for T-CY takes)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["period", "section", "item", "value"])
    period = stats.get("period")
    year = f"{period['from']} to {period['to']}" if period else stats["year"]
    for direction, families in stats["requests"].items():
        for family, count in families.items():
            writer.writerow([year, f"requests {direction}", family, count])
    for direction, countries in stats["by_country"].items():
        for country, count in sorted(countries.items()):
            writer.writerow([year, f"by country {direction}", country, count])
    for key, seconds in stats["median_seconds"].items():
        writer.writerow([year, "median seconds", key, "" if seconds is None else seconds])
    for key, value in stats["preservations"].items():
        writer.writerow([year, "preservations", key, value])
    for section in ("decisions", "emergencies", "duplicates", "by_article", "disclosure"):
        for key, value in stats.get(section, {}).items():
            if isinstance(value, dict):  # grounds, reasons, articles: one row each
                for item, count in sorted(value.items()):
                    writer.writerow([year, section, f"{key} {item}", count])
            else:
                writer.writerow([year, section, key, value])
    return out.getvalue()
