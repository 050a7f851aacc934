"""Alert links, the work list, status notes and the "data preserved" message, as the
penetration test found them (issue 17).

Each test reproduces a finding: a mail scanner that fetched an alert's link took the alert
(and stopped its escalation) and read the case id; the work list gave every open order's
identifiers and left no read-audit entry; any ``?note=`` text showed as the console's own
green status line; the message to the foreign CP called the provider's report time
"Preserved until"."""

from __future__ import annotations

import json
import re
import urllib.parse

from slice_driver import (
    alert_link_token,
    exchange,
    issued_order,
    open_alerts_of,
    preservation_request,
    wait_for,
)

from cp247.clock import utcnow
from services.notification.templates import render


def send(api, method: str, path: str, body: bytes | None = None, **headers: str):
    return exchange(api.base_url, method, path, body, headers)


def test_an_alert_link_fetched_by_a_mail_scanner_changes_nothing(embedded, tokens):
    api, _, _ = embedded
    case_id, token = alert_link_token(api, tokens, "SCANNED-1")
    link = f"/api/v1/alerts/ack?token={token}"

    # What a scanner does: GET and HEAD the link, as often as it likes.
    for method in ("GET", "HEAD", "GET"):
        status, headers, page = send(api, method, link, Accept="*/*")
        assert status == 200, (method, page)
        assert headers["Content-Type"].startswith("text/html"), headers
        assert headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert case_id not in page
    assert len(open_alerts_of(api, tokens, case_id)) == 1, "a fetch took the alert"
    assert '<form method="post" action="/api/v1/alerts/ack">' in page
    assert f'name="token" value="{token}"' in page
    assert "SCANNED-1" not in page and "telco" not in page.lower()

    # The officer presses the button: only that POST takes the alert.
    form = urllib.parse.urlencode({"token": token}).encode()
    status, headers, page = send(
        api, "POST", "/api/v1/alerts/ack", form,
        **{"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert status == 200 and headers["Content-Type"].startswith("text/html"), page
    assert "acknowledged" in page.lower() and case_id not in page
    assert headers["Cache-Control"] == "no-store"
    assert open_alerts_of(api, tokens, case_id) == []

    # A client that asks for JSON gets it (the same answer again: taking it twice is taking it
    # once), still without the case id.
    status, _, answer = send(
        api, "POST", "/api/v1/alerts/ack", json.dumps({"token": token}).encode(),
        **{"Content-Type": "application/json", "Accept": "application/json"},
    )  # fmt: skip
    taken = json.loads(answer)
    assert status == 200 and taken["acknowledged"]["via"] == "link", taken
    assert case_id not in answer

    # A forged token is refused both ways, as a page that tells nothing.
    for method, body in (("GET", None), ("POST", b"token=forged")):
        path = "/api/v1/alerts/ack" + ("?token=forged" if body is None else "")
        status, headers, page = send(
            api, method, path, body, **{"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert status == 404 and headers["Content-Type"].startswith("text/html"), page


def test_work_list_is_read_audited_and_shows_no_identifiers(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "WORKLIST-1")
    address = order["identifiers"][0]["value"]

    status, work = api.call("GET", "/api/v1/work", tokens["police"])
    assert status == 200
    listed = [o for o in work["awaiting_acknowledgement"] if o["order_id"] == order["order_id"]]
    assert listed and listed[0]["case_id"] == order["case_id"]
    assert listed[0]["provider_id"] == "telco-a" and listed[0]["expires_at"]
    text = json.dumps(work)
    assert address not in text and '"identifiers"' not in text, "the work list names the data"

    # Who opened the work list, and the duty officers' inbox, is on record.
    day = utcnow().date().isoformat()
    assert api.call("GET", "/api/v1/inbox", tokens["prosecution"])[0] == 200
    for target, who in ((f"work:{day}", "poe"), (f"inbox:{day}", "pat")):
        status, audit = api.call("GET", f"/api/v1/audit/reads?target={target}", tokens["admin"])
        assert status == 200, audit
        assert who in [r["username"] for r in audit["reads"]], (target, audit)


def test_a_note_in_the_address_is_not_shown_unless_the_product_set_it(embedded, tokens):
    api, _, _ = embedded
    _, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("NOTE-1")
    )
    cookie = {"Cookie": f"cp247_session={tokens['police']}"}
    forged = "Your account is locked: call +40 700 000 000 with your password"
    status, _, page = send(api, "GET", f"/console?{urllib.parse.urlencode({'note': forged})}",
                           **cookie)  # fmt: skip
    assert status == 200 and "Needs action" in page
    assert forged not in page and 'role="status"' not in page

    # A note the product set after an action still shows.
    case_path = f"/console/cases/{created['case_id']}"
    _, _, case = send(api, "GET", case_path, **cookie)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', case).group(1)
    form = urllib.parse.urlencode({"lead": "police", "csrf_token": csrf}).encode()
    status, headers, _ = send(api, "POST", f"{case_path}/lead", form, **cookie,
                              **{"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert status == 303, headers
    status, _, page = send(api, "GET", headers["Location"], **cookie)
    assert status == 200
    assert '<p class="note" role="status">The police CP now leads this case.</p>' in page


def test_data_preserved_message_says_when_it_was_preserved_and_until_when(embedded, tokens):
    api, _, _ = embedded
    order = issued_order(api, tokens, "PRESERVED-1")
    status, reported = api.call(
        "POST", f"/api/v1/isp/orders/{order['order_id']}/preserved", tokens["isp_a"],
        {"note": "logs frozen"},
    )  # fmt: skip
    assert status == 200, reported
    _, full = api.call("GET", f"/api/v1/preservation-orders/{order['order_id']}", tokens["police"])

    def preserved_message() -> dict | None:
        _, messages = api.call(
            "GET", f"/api/v1/cases/{order['case_id']}/messages", tokens["police"]
        )
        return next((m for m in messages["messages"] if m["template"] == "data_preserved"), None)

    body = wait_for(preserved_message, what="the data-preserved message")["body"]
    reported = reported["outcome"]["at"]
    until = re.search(r"Preserved until: (.+)", body)
    assert until, body
    assert until.group(1).strip() == render_utc(full["expires_at"]), body
    assert render_utc(full["expires_at"]) != render_utc(reported)
    assert f"Preserved on:    {render_utc(reported)} (as reported by the provider)" in body

    # The same in French, from the same kind of context.
    context = {
        "our_reference": "RO-1", "their_reference": "X-1", "contact_point": "CP",
        "provider": "Telco A", "preserved_at": reported, "expires_at": full["expires_at"],
    }  # fmt: skip
    french = render("data_preserved", "fr", context).body
    assert f"Conservées le :       {render_utc(reported)} (selon le fournisseur)" in french
    assert f"Fin de conservation : {render_utc(full['expires_at'])}" in french
    # No end of the period known: the message does not invent one.
    english = render("data_preserved", "en", {**context, "expires_at": None}).body
    assert "Preserved until" not in english and render_utc(reported) in english


def render_utc(moment: str) -> str:
    from services.notification.templates import _utc

    return _utc(moment)
