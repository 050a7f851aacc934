"""The two CPs' console: what needs action, cases, one case with its timeline, and a form
for every action of the API. Both CPs see the same; what they may do follows the API."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from zoneinfo import available_timezones

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from cp247.validation import parse_ascii_int
from services.gateway.console.action_forms import (
    Form,
    answer_body,
    art29_6_decision_body,
    close_body,
    foreign_receipt_body,
    order_body,
    reason_body,
    sent_body,
    whole_number,
)
from services.gateway.console.request_form import (
    ART29_CHECKLIST,
    REQUEST_TYPES,
    request_body,
)
from services.gateway.console.web import ApiError, Session, page, see_other
from services.intake.domain import (
    ANSWER_OUTCOMES,
    ART29_6_DECISIONS,
    ART29_6_REASONS,
    CHANNELS,
    FINAL,
    allowed_refusal_grounds,
)

# Art 30(2): what an Art 30 disclosure may be withheld on, worded as for a refusal.
ART30_2_GROUNDS = allowed_refusal_grounds("traffic_disclosure", False, [])

CP = ("police", "prosecution")
CASE_FILTERS = ("type", "direction", "status", "country")
PAGE_SIZE = 50
# Timeline entries shown only on demand: each repeats, in bookkeeping, one shown anyway
# (a message queued and then sent, a case opened with its first request, a webhook's tries).
DETAIL_EVENTS = frozenset({
    "CaseOpened", "DutyAlertRaised", "MessageQueued", "MessageAttemptFailed",
    "NotificationSent", "MessageRead", "FeedbackDeferralStarted", "FeedbackDeferred",
    "FeedbackReleased", "OrderPartiesNoted", "WebhookScheduled", "WebhookAttempted",
    "OrderDocumentSigned",
})  # fmt: skip
MIN_REASON = 10  # characters: "x" is no reason for a step that cannot be undone
FULL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _case_path(case_id: str) -> str:
    return f"/console/cases/{case_id}"


class CasePages:
    @page("/", "GET")
    def front(self, s: Session) -> Response:
        return self.login_form(s)  # type: ignore[attr-defined]

    @page("/console", "GET", CP)
    def work(self, s: Session) -> Response:
        return s.render("work.html", work=s.api("GET", "/api/v1/work"))

    @page("/console/cases", "GET", CP)
    def cases(self, s: Session) -> Response:
        """Cases, newest first, a page at a time; the search and the filters are the API's
        (it reads its indexes, never every case)."""
        filters = {k: s.request.args.get(k, "") for k in CASE_FILTERS}
        query = s.request.args.get("q", "").strip()
        page_number = max(1, parse_ascii_int(s.request.args.get("page", "1")) or 1)
        found = s.api("GET", "/api/v1/cases", **filters, q=query, limit=PAGE_SIZE + 1,
                      offset=(page_number - 1) * PAGE_SIZE)["cases"]  # fmt: skip
        more = len(found) > PAGE_SIZE
        return s.render("cases.html", cases=found[:PAGE_SIZE], filters=filters, q=query,
                        types=REQUEST_TYPES, page=page_number, more=more,
                        here=urlencode({**filters, "q": query}))  # fmt: skip

    @page("/console/cases/<case_id>", "GET", CP)
    def case(
        self, s: Session, case_id: str, errors: list[str] | None = None, status: int = 422
    ) -> Response:
        if not FULL_ID.fullmatch(case_id):
            return self._resolve(s, case_id)
        case = s.api("GET", f"/api/v1/cases/{case_id}")
        timeline = s.api("GET", f"/api/v1/cases/{case_id}/timeline")
        mla = s.api("GET", f"/api/v1/cases/{case_id}/mla")["mla"]
        messages = s.api("GET", f"/api/v1/cases/{case_id}/messages")["messages"]
        for request in case["requests"]:
            if request["direction"] == "outgoing":
                # What the destination CP requires is only in the request's own view.
                view = s.api("GET", f"/api/v1/requests/{request['request_id']}")
                request["destination"] = view.get("destination")
        return s.render(
            "case.html", status=status if errors else 200, case=case, timeline=timeline,
            mla=mla, messages=messages, errors=errors, notice_reasons=ART29_6_REASONS,
            grounds={r["request_id"]: _refusal_grounds(r) for r in case["requests"]},
            final=FINAL, channels=CHANNELS, outcomes=ANSWER_OUTCOMES,
            decisions=ART29_6_DECISIONS, art30_grounds=ART30_2_GROUNDS,
            detail_events=DETAIL_EVENTS,
        )  # fmt: skip

    def _resolve(self, s: Session, name: str) -> Response:
        """A case named as people name it (its short id, our reference or theirs): the case
        itself when one matches, else the list of those that do."""
        found = s.api("GET", "/api/v1/cases", q=name, limit=2)["cases"]
        if len(found) == 1:
            return redirect(_case_path(found[0]["case_id"]), code=303)
        return redirect(f"/console/cases?{urlencode({'q': name})}", code=303)

    def _unconfirmed(
        self, s: Session, case_id: str, what: str, reason: str, facts: list[tuple[str, str]]
    ) -> Response | None:
        """What cannot be undone waits for a second, informed click: the page restates it
        (``facts``) and its reason must say something. None once confirmed."""
        if len(reason.strip()) < MIN_REASON or not any(c.isalpha() for c in reason):
            return self.case(s, case_id, errors=[
                f"Say why in a sentence of at least {MIN_REASON} characters: "
                f"{what} cannot be undone."])  # fmt: skip
        if s.form("confirmed") == "yes":
            return None
        fields = [(k, v) for k, v in s.request.form.items(multi=True)
                  if k not in ("csrf_token", "confirmed")]  # fmt: skip
        return s.render("confirm.html", what=what, facts=facts, fields=fields,
                        action=s.request.path, case_id=case_id)  # fmt: skip

    def _request_facts(self, s: Session, request_id: str) -> list[tuple[str, str]]:
        request = s.api("GET", f"/api/v1/requests/{request_id}")
        theirs = (request.get("requesting_authority") or {}).get("reference") or "none"
        return [
            ("Request", f"{request['our_reference']} (their reference {theirs})"),
            ("Type", request["type"].replace("_", " ")),
            ("From", (request.get("requesting_authority") or {}).get("country") or "-"),
            ("Identifiers", _identifiers_text(request.get("identifiers") or [])),
        ]

    def _act(self, s: Session, case_id: str, path: str, body: Any, done: str) -> Response:
        """Run one action through the API; back to the case with a note, or the reasons
        (with the API's status: a 409 stays a 409)."""
        try:
            s.api("POST", path, body)
        except ApiError as exc:
            if exc.status in (401, 403, 404):
                raise
            return self.case(s, case_id, errors=exc.sentences, status=exc.status)
        return see_other(_case_path(case_id), done)

    # --- actions on a case ---------------------------------------------------------------
    @page("/console/cases/<case_id>/lead", "POST", CP)
    def lead(self, s: Session, case_id: str) -> Response:
        lead = s.form("lead")
        return self._act(s, case_id, f"/api/v1/cases/{case_id}/lead", {"lead": lead},
                         f"lead-{lead}")  # fmt: skip

    @page("/console/cases/<case_id>/near-duplicates/<request_id>", "POST", CP)
    def near_duplicate(self, s: Session, case_id: str, request_id: str) -> Response:
        resolution = s.form("resolution")
        path = f"/api/v1/cases/{case_id}/near-duplicates/{request_id}"
        return self._act(s, case_id, path, {"resolution": resolution},
                         f"near-duplicate-{resolution}")  # fmt: skip

    @page("/console/cases/<case_id>/orders", "POST", CP)
    def new_order(self, s: Session, case_id: str) -> Response:
        body, problems = order_body(s.form, s.request.form.getlist("data_types"))
        if problems:
            return self.case(s, case_id, errors=problems)
        return self._act(s, case_id, f"/api/v1/cases/{case_id}/preservation-orders", body,
                         "order-created")  # fmt: skip

    @page("/console/cases/<case_id>/close", "POST", CP)
    def close_case(self, s: Session, case_id: str) -> Response:
        return self._act(s, case_id, f"/api/v1/cases/{case_id}/close", close_body(s.form),
                         "case-closed")  # fmt: skip

    @page("/console/orders/<order_id>/<action>", "POST", CP)
    def order_action(self, s: Session, order_id: str, action: str) -> Response:
        case_id = s.form("case_id")
        bodies = {
            "approve": (None, "order-approved"),
            "extend": ({"days": whole_number(s.form("days"))}, "order-extended"),
            "release": ({"reason": s.form("reason")}, "order-released"),
        }
        if action not in bodies:
            return self.case(s, case_id, errors=["There is no such action on an order."])
        body, done = bodies[action]
        if action == "release":
            order = s.api("GET", f"/api/v1/preservation-orders/{order_id}")
            facts = [("Order", order_id), ("Provider", order["provider_id"]),
                     ("Identifiers", _identifiers_text(order.get("identifiers") or [])),
                     ("Reason", s.form("reason"))]  # fmt: skip
            if waiting := self._unconfirmed(s, case_id, "release the order", s.form("reason"),
                                            facts):  # fmt: skip
                return waiting
        return self._act(s, case_id, f"/api/v1/preservation-orders/{order_id}/{action}",
                         body, done)  # fmt: skip

    @page("/console/requests/<request_id>/refuse", "POST", CP)
    def refuse(self, s: Session, request_id: str) -> Response:
        body = {"grounds": s.request.form.getlist("grounds"), "explanation": s.form("explanation")}
        facts = [*self._request_facts(s, request_id),
                 ("Grounds", ", ".join(body["grounds"]).replace("_", " ") or "none chosen"),
                 ("Explanation", body["explanation"])]  # fmt: skip
        if waiting := self._unconfirmed(s, s.form("case_id"), "refuse the request",
                                        body["explanation"], facts):  # fmt: skip
            return waiting
        return self._act(s, s.form("case_id"), f"/api/v1/requests/{request_id}/refuse", body,
                         "request-refused")  # fmt: skip

    @page("/console/requests/<request_id>/art29-6-notice", "POST", CP)
    def art29_6(self, s: Session, request_id: str) -> Response:
        body = {"reason": s.form("reason"), "explanation": s.form("explanation")}
        facts = [*self._request_facts(s, request_id), ("Reason", body["reason"]),
                 ("Explanation", body["explanation"])]  # fmt: skip
        if waiting := self._unconfirmed(s, s.form("case_id"), "give the Art 29(6) notice",
                                        body["explanation"], facts):  # fmt: skip
            return waiting
        path = f"/api/v1/requests/{request_id}/art29-6-notice"
        return self._act(s, s.form("case_id"), path, body, "art29-6-notice")

    @page("/console/requests/<request_id>/<action>", "POST", CP)
    def request_action(self, s: Session, request_id: str, action: str) -> Response:
        """The decisions on a request and the steps of an outgoing one, each one form."""
        case_id = s.form("case_id")
        actions: dict[str, tuple[Callable[[Form], dict[str, Any]], str]] = {
            "withdraw": (reason_body, "request-withdrawn"),
            "art29-6-decision": (art29_6_decision_body, "art29-6-decision"),
            "no-order": (reason_body, "no-order"),
            "sent": (sent_body, "request-sent"),
            "foreign-receipt": (foreign_receipt_body, "foreign-receipt"),
            "answer": (answer_body, "foreign-answer"),
        }  # fmt: skip
        if action not in actions:
            return self.case(s, case_id, errors=["There is no such action on a request."])
        to_body, done = actions[action]
        if action == "withdraw":
            facts = [*self._request_facts(s, request_id), ("Reason", s.form("reason"))]
            if waiting := self._unconfirmed(s, case_id, "withdraw the request", s.form("reason"),
                                            facts):  # fmt: skip
                return waiting
        return self._act(s, case_id, f"/api/v1/requests/{request_id}/{action}",
                         to_body(s.form), done)  # fmt: skip

    @page("/console/cases/<case_id>/mla", "POST", CP)
    def record_mla(self, s: Session, case_id: str) -> Response:
        body = {k: s.form(k) or None for k in ("direction", "kind", "authority", "reference",
                                               "stage", "date")}  # fmt: skip
        return self._act(s, case_id, f"/api/v1/cases/{case_id}/mla", body,
                         "mla-recorded")  # fmt: skip

    @page("/console/mla/<mla_id>/status", "POST", CP)
    def mla_status(self, s: Session, mla_id: str) -> Response:
        body = {"status": s.form("status"), "note": s.form("note")}
        return self._act(s, s.form("case_id"), f"/api/v1/mla/{mla_id}/status", body,
                         f"mla-{body['status']}")  # fmt: skip

    @page("/console/alerts/<alert_id>/ack", "POST", CP)
    def acknowledge_alert(self, s: Session, alert_id: str) -> Response:
        try:
            s.api("POST", f"/api/v1/alerts/{alert_id}/acknowledge")
        except ApiError as exc:
            return s.render("work.html", status=exc.status, errors=exc.sentences,
                            work=s.api("GET", "/api/v1/work"))  # fmt: skip
        return see_other("/console", "alert-taken")

    # --- registering a request ---------------------------------------------------------------
    @page("/console/requests/new", "GET", CP)
    def new_request(self, s: Session) -> Response:
        return s.render("request_new.html", values={}, checklist=ART29_CHECKLIST,
                        types=REQUEST_TYPES, **self._pick_lists(s))  # fmt: skip

    @staticmethod
    def _pick_lists(s: Session) -> dict[str, Any]:
        """What the request form offers to pick from: the directories, and every time zone."""
        contact_points = s.api("GET", "/api/v1/contact-points")["contact_points"]
        return {
            "providers": s.api("GET", "/api/v1/providers")["providers"],
            "countries": sorted({c["country"] for c in contact_points}),
            "zones": sorted(available_timezones()),
        }

    @page("/console/requests/new", "POST", CP)
    def register(self, s: Session) -> Response:
        values = {k: v.strip() for k, v in s.request.form.items() if k != "csrf_token"}
        values["data_types"] = s.request.form.getlist("data_types")
        body, problems = request_body(values)
        if not problems:
            status, answer = s.api_status("POST", "/api/v1/requests", body)
            if status in (200, 201):
                note = "registered" if status == 201 else "joined"
                if answer.get("warnings"):
                    note += "-check-warnings"
                return see_other(_case_path(answer["case_id"]), note)
            problems = ApiError(status, answer).sentences
        return s.render("request_new.html", status=422, values=values, errors=problems,
                        checklist=ART29_CHECKLIST, types=REQUEST_TYPES,
                        **self._pick_lists(s))  # fmt: skip

    @page("/console/inbox", "GET", CP)
    def inbox(self, s: Session) -> Response:
        return s.render("inbox.html", messages=s.api("GET", "/api/v1/inbox")["messages"])


def _refusal_grounds(request: dict[str, Any]) -> dict[str, str]:
    """The grounds the refusal form offers for this request's type. Art 29(4) dual
    criminality is offered wherever a reservation could allow it; whether the national
    policy made that reservation is the API's to say (a 422 naming the allowed grounds)."""
    offence = (request.get("details") or {}).get("offence") or {}
    return allowed_refusal_grounds(
        request["type"], True, list(offence.get("convention_articles") or [])
    )


def _identifiers_text(identifiers: list[dict[str, Any]]) -> str:
    return (
        "; ".join(
            f"{i['kind']} {i['value']}" + (f":{i['port']}" if i.get("port") else "")
            for i in identifiers
        )
        or "none"
    )
