"""The portal for providers without an API integration: their own orders, the signed
document, and the same four answers as the API (acknowledge, preserved, unavailable, Art 30)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from cp247.validation import parse_ascii_int
from services.gateway.console.notes import PROVIDER_ANSWERS
from services.gateway.console.web import ApiError, Session, page, see_other

ISP = ("isp",)


class PortalPages:
    @page("/portal", "GET", ISP)
    def portal(self, s: Session) -> Response:
        shown = s.request.args.get("status", "")
        orders = s.api("GET", "/api/v1/isp/orders", status=shown)["orders"]
        return s.render("portal.html", orders=orders, shown=shown)

    @page("/portal/orders/<order_id>", "GET", ISP)
    def portal_order(self, s: Session, order_id: str, errors: list[str] | None = None) -> Response:
        order = s.api("GET", f"/api/v1/isp/orders/{order_id}")
        return s.render("portal_order.html", status=422 if errors else 200, order=order,
                        errors=errors)  # fmt: skip

    @page("/portal/orders/<order_id>/<answer>", "POST", ISP)
    def portal_answer(self, s: Session, order_id: str, answer: str) -> Response:
        if answer not in PROVIDER_ANSWERS:
            return self.portal_order(s, order_id, errors=["There is no such answer."])
        bodies: dict[str, Any] = {
            "acknowledge": None,
            "preserved": {"note": s.form("note"), "records": _count(s.form("records"))},
            "unavailable": {"reason": s.form("reason")},
            "foreign-provider": {k: s.form(k) for k in ("country", "provider_name", "details")},
        }
        try:
            s.api("POST", f"/api/v1/isp/orders/{order_id}/{answer}", bodies[answer])
        except ApiError as exc:
            if exc.status in (401, 403, 404):
                raise
            return self.portal_order(s, order_id, errors=exc.sentences)
        return see_other(f"/portal/orders/{order_id}", f"provider-{answer}")


def _count(text: str) -> Any:
    number = parse_ascii_int(text)
    return (text or None) if number is None else number
