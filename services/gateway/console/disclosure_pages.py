"""The case page's forms for disclosure (issue 20): order a provider to disclose, approve it,
send what was produced to the requesting Party under conditions, decide an Art 30 report,
authorise an MLA request. Each form is one API call; its rules and its errors are the API's."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from services.gateway.console.action_forms import Form
from services.gateway.console.cases import CasePages
from services.gateway.console.request_form import identifier_lines
from services.gateway.console.web import Session, page

CP = ("police", "prosecution")


def disclosure_order_body(form: Form, data_types: list[str]) -> tuple[dict[str, Any], list[str]]:
    identifiers, problems = identifier_lines(form("identifiers"))
    body: dict[str, Any] = {
        "provider_id": form("provider_id"),
        "data_types": data_types,
        "identifiers": identifiers,
    }
    for optional in ("request_id", "due_by", "legal_basis"):
        if form(optional):
            body[optional] = form(optional)
    return body, problems


def conditions_body(form: Form) -> dict[str, Any]:
    """Art 28(2), P2 Art 9(6): what the requesting Party may do with the data."""
    conditions: dict[str, Any] = {
        "use_limited_to": form("use_limited_to"),
        "confidential": form("confidential") == "yes",
        "further_transfer": form("further_transfer"),
    }
    if form("handling_code"):
        conditions["handling_code"] = form("handling_code")
    return conditions


class DisclosurePages(CasePages):
    @page("/console/cases/<case_id>/disclosure-orders", "POST", CP)
    def new_disclosure_order(self, s: Session, case_id: str) -> Response:
        body, problems = disclosure_order_body(s.form, s.request.form.getlist("data_types"))
        if problems:
            return self.case(s, case_id, errors=problems)
        path = f"/api/v1/cases/{case_id}/disclosure-orders"
        return self._act(s, case_id, path, body, "disclosure-order-created")

    @page("/console/disclosure-orders/<order_id>/approve", "POST", ("prosecution",))
    def approve_disclosure_order(self, s: Session, order_id: str) -> Response:
        path = f"/api/v1/disclosure-orders/{order_id}/approve"
        return self._act(s, s.form("case_id"), path, None, "disclosure-order-approved")

    @page("/console/requests/<request_id>/disclosures", "POST", ("prosecution",))
    def send_disclosure(self, s: Session, request_id: str) -> Response:
        body = {
            "production_ids": s.request.form.getlist("production_ids"),
            "conditions": conditions_body(s.form),
        }
        conditions = body["conditions"]
        facts = [
            *self._request_facts(s, request_id),
            ("Productions", ", ".join(p[:8] for p in body["production_ids"]) or "none"),
            ("Use limited to", conditions["use_limited_to"]),
            ("Confidential", "yes" if conditions["confidential"] else "no"),
            ("Further transfer", conditions["further_transfer"].replace("_", " ")),
        ]
        if waiting := self._unconfirmed(s, s.form("case_id"), "send the data to the requesting "
                                        "Party", conditions["use_limited_to"], facts):  # fmt: skip
            return waiting
        path = f"/api/v1/requests/{request_id}/disclosures"
        return self._act(s, s.form("case_id"), path, body, "disclosure-sent")

    @page("/console/disclosures/<disclosure_id>/approve", "POST", ("prosecution",))
    def approve_art30(self, s: Session, disclosure_id: str) -> Response:
        body: dict[str, Any] = {k: s.form(k) for k in ("country", "provider_name") if s.form(k)}
        body["path"] = s.form("path") or None
        if s.form("use_limited_to"):
            body["conditions"] = conditions_body(s.form)
        path = f"/api/v1/disclosures/{disclosure_id}/approve"
        return self._act(s, s.form("case_id"), path, body, "art30-approved")

    @page("/console/disclosures/<disclosure_id>/withhold", "POST", ("prosecution",))
    def withhold_art30(self, s: Session, disclosure_id: str) -> Response:
        body = {"grounds": s.request.form.getlist("grounds"), "explanation": s.form("explanation")}
        facts = [("Disclosure", disclosure_id),
                 ("Grounds", ", ".join(body["grounds"]).replace("_", " ") or "none chosen"),
                 ("Explanation", body["explanation"])]  # fmt: skip
        if waiting := self._unconfirmed(s, s.form("case_id"), "withhold the Art 30 report",
                                        body["explanation"], facts):  # fmt: skip
            return waiting
        path = f"/api/v1/disclosures/{disclosure_id}/withhold"
        return self._act(s, s.form("case_id"), path, body, "art30-withheld")

    @page("/console/mla/<mla_id>/authorisation", "POST", CP)
    def authorise_mla(self, s: Session, mla_id: str) -> Response:
        body = {k: s.form(k) for k in ("authority", "date", "reference")}
        path = f"/api/v1/mla/{mla_id}/authorisation"
        return self._act(s, s.form("case_id"), path, body, "mla-authorised")
