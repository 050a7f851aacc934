"""The portal for providers without an API integration: their own orders, the signed
document, and the same answers as the API: acknowledge, preserved, unavailable, Art 30 for a
preservation order; acknowledge, the data (files) or unavailable for a disclosure order."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from cp247.validation import parse_ascii_int
from services.gateway.console.notes import PROVIDER_ANSWERS
from services.gateway.console.web import ApiError, Session, page, see_other

ISP = ("isp",)
# The upload of a production: its body may be as large as the API's (20 MB of files).
UPLOAD_PATH = re.compile(r"/portal/orders/[^/]+/produce")


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
                        errors=errors, contact=getattr(s.gateway, "letterhead", None))  # fmt: skip

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
        return self._answer(s, order_id, answer, bodies[answer])

    @page("/portal/orders/<order_id>/produce", "POST", ISP)
    def portal_produce(self, s: Session, order_id: str) -> Response:
        """The files as uploaded, each with the SHA-256 the browser computed (the API checks
        it against the bytes received); without script, the digest is taken here."""
        uploads = [u for u in s.request.files.getlist("files") if u.filename]
        if not uploads:
            return self.portal_order(s, order_id, errors=["Choose at least one file."])
        digests = s.request.form.getlist("sha256")
        files = []
        for index, upload in enumerate(uploads):
            content = upload.read()
            given = digests[index].strip() if index < len(digests) else ""
            files.append({
                "name": secure_filename(upload.filename or "") or f"file-{index + 1}",
                "media_type": upload.mimetype or "application/octet-stream",
                "content_base64": base64.b64encode(content).decode("ascii"),
                "sha256": given or hashlib.sha256(content).hexdigest(),
            })  # fmt: skip
        hashed_here = len(digests) != len(uploads)  # no script: the browser sent none
        return self._answer(s, order_id, "produce", {"files": files, "note": s.form("note")},
                            "provider-produce-hashed-here" if hashed_here else None)  # fmt: skip

    def _answer(
        self, s: Session, order_id: str, answer: str, body: Any, note: str | None = None
    ) -> Response:
        try:
            s.api("POST", f"/api/v1/isp/orders/{order_id}/{answer}", body)
        except ApiError as exc:
            if exc.status in (401, 403, 404):
                raise
            return self.portal_order(s, order_id, errors=exc.sentences)
        return see_other(f"/portal/orders/{order_id}", note or f"provider-{answer}")


def _count(text: str) -> Any:
    number = parse_ascii_int(text)
    return (text or None) if number is None else number
