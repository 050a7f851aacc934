"""The browser pages without a browser: sign-in redirects, CSRF on every form, role
refusals as sentences, no open redirect after login; the lifecycle forms of a case
(withdraw, close, an outgoing request's steps) and the needs-action lists."""

from __future__ import annotations

import html
import re
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
from slice_driver import (
    PASSWORD,
    Browser,
    issued_order,
    preservation_request,
    run_slice,
    unused_totp,
    wait_for,
)


@pytest.fixture
def people(embedded, tokens):
    _, _, platform = embedded
    identity = platform.apps["gateway"]
    uri = identity.enrol_second_factor("pat")
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    return {"pat": secret, "identity": identity}


def log_in(browser: Browser, people: dict, next_path: str = "") -> tuple[int, dict, str]:
    code = unused_totp(people["pat"], people["identity"]._user("pat").last_totp_step)
    form = {"username": "pat", "password": PASSWORD, "totp": code, "next": next_path}
    return browser.go("POST", "/login", form)


def test_pages_need_a_session_and_come_back_after_login(embedded, people):
    api, _, _ = embedded
    browser = Browser(api.base_url)
    status, headers, _ = browser.go("GET", "/console/cases?type=preservation")
    assert status == 303 and headers["Location"].startswith("/login?next=")
    status, headers, _ = log_in(browser, people, "/console/cases?type=preservation")
    assert status == 303 and headers["Location"] == "/console/cases?type=preservation"
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    status, _, page = browser.go("GET", "/console/cases")
    assert status == 200 and "Cases" in page


def test_login_never_sends_anyone_to_another_site(embedded, people):
    api, _, _ = embedded
    status, headers, _ = log_in(Browser(api.base_url), people, "//evil.example/x")
    assert status == 303 and headers["Location"] == "/console"


def test_every_form_needs_the_sessions_csrf_token(embedded, tokens, people):
    api, _, _ = embedded
    case_id = run_slice(api, tokens, "CONSOLE-CSRF")["case_id"]
    browser = Browser(api.base_url)
    log_in(browser, people)
    _, _, page = browser.go("GET", f"/console/cases/{case_id}")
    for token in (None, "0" * 64):
        form = {"lead": "police"} | ({"csrf_token": token} if token else {})
        status, _, refused = browser.go("POST", f"/console/cases/{case_id}/lead", form)
        assert status == 403 and "Reload the page and send it again" in refused
    status, headers, _ = browser.go(
        "POST",
        f"/console/cases/{case_id}/lead",
        {"lead": "police", "csrf_token": browser.csrf(page)},
    )
    assert status == 303 and "police" in urllib.parse.unquote_plus(headers["Location"])
    _, _, case = browser.go("GET", f"/console/cases/{case_id}")
    assert "lead: <strong>police</strong>" in case


def test_an_action_the_api_refuses_is_told_as_sentences(embedded, tokens, people):
    api, _, _ = embedded
    result = run_slice(api, tokens, "CONSOLE-SENTENCES")
    browser = Browser(api.base_url)
    log_in(browser, people)
    _, _, page = browser.go("GET", f"/console/cases/{result['case_id']}")
    form = {"csrf_token": browser.csrf(page), "case_id": result["case_id"], "days": "abc"}
    order_id = result["order"]["order_id"]
    status, _, answer = browser.go("POST", f"/console/orders/{order_id}/extend", form)
    assert status == 422 and "days: a whole number of days." in answer
    assert "Traceback" not in answer


def test_a_provider_cannot_open_the_consoles_nor_a_user_the_portal(embedded, tokens):
    api, _, _ = embedded
    browser = Browser(api.base_url)
    status, headers, _ = browser.go("POST", "/portal/login", {"token": tokens["isp_a"]})
    assert status == 303 and headers["Location"] == "/portal"
    status, _, page = browser.go("GET", "/console")
    assert status == 403 and "Your role (isp) cannot open this page." in page
    status, _, _ = browser.go("POST", "/portal/login", {"token": tokens["police"]})
    assert status == 401  # a console user's token does not open the portal


# --- the lifecycle forms of a case -------------------------------------------------------------
def text_of(page: str) -> str:
    """What a reader sees: tags gone, entities read, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def request_status(page: str) -> str:
    """The status shown for the case's (only) request."""
    found = re.search(r'data-status="([a-z_]+)"', page)
    assert found, page
    return found.group(1)


def request_id_of(api, tokens, order_id: str) -> str:
    status, order = api.call("GET", f"/api/v1/preservation-orders/{order_id}", tokens["police"])
    assert status == 200, order
    return order["request_id"]


def signed_in(api, people) -> Browser:
    browser = Browser(api.base_url)
    status, _, _ = log_in(browser, people)
    assert status == 303
    return browser


def post_on_case(browser: Browser, case_id: str, action: str, form: dict) -> tuple[int, dict, str]:
    """Post a form of the case page as the page gives it (its CSRF token, the case id)."""
    _, _, page = browser.go("GET", f"/console/cases/{case_id}")
    assert f'action="{action}"' in page, f"no form for {action} on the case page"
    posted = {"csrf_token": browser.csrf(page), "case_id": case_id, **form}
    answer = browser.go("POST", action, posted)
    if answer[0] == 200 and 'name="confirmed"' in answer[2]:  # cannot be undone: confirm it
        answer = browser.go("POST", action, {**posted, "confirmed": "yes"})
    return answer


def test_withdraw_form_withdraws_the_request_and_releases_its_order(embedded, tokens, people):
    api, _, _ = embedded
    order = issued_order(api, tokens, "CONSOLE-WD-1")
    case_id, request_id = order["case_id"], request_id_of(api, tokens, order["order_id"])
    browser = signed_in(api, people)
    status, headers, _ = post_on_case(
        browser, case_id, f"/console/requests/{request_id}/withdraw",
        {"reason": "the requesting Party has identified the suspect"},
    )  # fmt: skip
    assert status == 303 and "withdrawn" in urllib.parse.unquote_plus(headers["Location"])
    _, _, page = browser.go("GET", f"/console/cases/{case_id}")
    assert request_status(page) == "withdrawn"
    assert "Withdrawn: the requesting Party has identified the suspect" in text_of(page)
    assert f"/console/requests/{request_id}/withdraw" not in page  # not twice
    released = wait_for(
        lambda: "· released" in text_of(browser.go("GET", f"/console/cases/{case_id}")[2]),
        what="the order released on the case page",
    )
    assert released
    assert api.call("GET", f"/api/v1/requests/{request_id}", tokens["police"])[1][
        "status"] == "withdrawn"  # fmt: skip


def test_close_form_tells_why_a_case_with_a_running_order_stays_open(embedded, tokens, people):
    api, _, _ = embedded
    order = issued_order(api, tokens, "CONSOLE-CLOSE-1")
    case_id = order["case_id"]
    browser = signed_in(api, people)
    close = f"/console/cases/{case_id}/close"
    status, _, page = post_on_case(browser, case_id, close, {"outcome": "suspect charged"})
    assert status == 409 and "Traceback" not in page
    assert "The case cannot close while something of it still runs" in text_of(page)
    assert f"order {order['order_id']} still preserves" in text_of(page)
    status, _, _ = post_on_case(
        browser,
        case_id,
        f"/console/orders/{order['order_id']}/release",
        {"reason": "the requesting Party no longer needs the data"},
    )
    assert status == 303
    status, headers, _ = post_on_case(
        browser, case_id, close, {"outcome": "suspect charged", "note": "court date set"}
    )
    assert status == 303 and headers["Location"].endswith("?note=case-closed")
    page = text_of(browser.go("GET", f"/console/cases/{case_id}")[2])
    assert "Case status closed" in page and "Closed: suspect charged. court date set" in page
    assert close not in browser.go("GET", f"/console/cases/{case_id}")[2]


def test_outgoing_request_forms_send_acknowledge_and_answer_it(embedded, tokens, people):
    api, _, platform = embedded
    entry = {"country": "NO", "kind": "police", "name": "Kripos 24/7",
             "institutional_email": "cp247@kripos.example", "time_zone": "Europe/Oslo",
             "office_hours": "Mon-Fri 08:00-16:00", "required_format":
             "signed letterhead with stamp", "can_order_preservation": True}  # fmt: skip
    status, listed = api.call("POST", "/api/v1/contact-points", tokens["police"], entry)
    assert status == 200, listed
    body = preservation_request("CONSOLE-OUT-1", direction="outgoing", counterpart_country="NO")
    status, created = api.call("POST", "/api/v1/requests", tokens["prosecution"], body)
    assert status == 201, created
    case_id, request_id = created["case_id"], created["request_id"]
    browser = signed_in(api, people)
    _, _, page = browser.go("GET", f"/console/cases/{case_id}")
    assert (
        "NO requires: signed letterhead with stamp — send the signed letter (download)"
        in text_of(page)
    )
    assert f'href="/api/v1/requests/{request_id}/letter"' in page
    assert f"/console/requests/{request_id}/foreign-receipt" not in page  # not sent yet
    assert f"/console/requests/{request_id}/refuse" not in page  # ours: nobody refuses it

    steps = f"/console/requests/{request_id}"
    status, _, refused = post_on_case(browser, case_id, f"{steps}/sent",
                                      {"channel": "email", "at": "yesterday"})  # fmt: skip
    assert status == 422 and "At must be an ISO 8601 time with an offset" in text_of(refused)
    sent_at = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="minutes")
    status, _, _ = post_on_case(browser, case_id, f"{steps}/sent",
                                {"channel": "fax", "at": sent_at})  # fmt: skip
    assert status == 303
    page = browser.go("GET", f"/console/cases/{case_id}")[2]
    assert request_status(page) == "in_progress"
    assert "by fax" in text_of(page) and f"{steps}/sent" not in page
    status, _, _ = post_on_case(browser, case_id, f"{steps}/foreign-receipt",
                                {"reference": "NO-2026-77"})  # fmt: skip
    assert status == 303
    page = browser.go("GET", f"/console/cases/{case_id}")[2]
    assert "their reference NO-2026-77" in text_of(page)
    assert f"{steps}/foreign-receipt" not in page
    expires = (datetime.now(UTC) + timedelta(days=5)).isoformat(timespec="seconds")
    status, _, _ = post_on_case(
        browser, case_id, f"{steps}/answer",
        {"outcome": "preserved", "expires_at": expires, "note": "preserved 90 days"},
    )  # fmt: skip
    assert status == 303
    page = browser.go("GET", f"/console/cases/{case_id}")[2]
    assert request_status(page) == "answered"
    assert "Answer: preserved, preserved until" in text_of(page)
    assert f"{steps}/answer" not in page

    def our_clock_listed() -> bool:
        platform.apps["mla"].run_clocks()
        work = browser.go("GET", "/console")[2]
        section = work.split('id="h-our-mla"')[1].split("</section>")[0]
        return f"/console/cases/{case_id}" in section and "left" in section

    wait_for(our_clock_listed, what="our MLA clock on the needs-action page")


def test_needs_action_lists_a_preservation_request_without_an_order(embedded, tokens, people):
    api, _, _ = embedded
    body = preservation_request("CONSOLE-LAPSE-1", "not-a-listed-isp")
    status, created = api.call("POST", "/api/v1/requests", tokens["prosecution"], body)
    assert status == 201 and "custodian_not_listed" in created["warnings"], created
    case_id, request_id = created["case_id"], created["request_id"]
    reference = created["acknowledgement"]["our_reference"]
    browser = signed_in(api, people)

    def without_order() -> str:
        work = browser.go("GET", "/console")[2]
        return work.split('id="h-no-order"')[1].split("</section>")[0]

    section = wait_for(lambda: reference in (s := without_order()) and s,
                       what="the request listed as without an order")  # fmt: skip
    assert f'href="/console/cases/{case_id}"' in section
    page = browser.go("GET", f"/console/cases/{case_id}")[2]
    assert "Nothing preserves these data yet" in text_of(page)
    assert f"/console/requests/{request_id}/no-order" in page
    assert f'name="request_id" value="{request_id}"' in page  # the order form, for it
    identifiers = re.search(r'id="ro-1-ids" name="identifiers">([^<]*)<', page).group(1)
    status, headers, _ = post_on_case(
        browser, case_id, f"/console/cases/{case_id}/orders",
        {"request_id": request_id, "provider_id": "telco-a", "data_types": ["traffic"],
         "identifiers": html.unescape(identifiers)},
    )  # fmt: skip
    assert status == 303 and headers["Location"].endswith("?note=order-created")
    wait_for(lambda: reference not in without_order(), what="the item gone once ordered")


def test_art29_6_decision_form_appears_only_while_the_requesting_party_decides(
    embedded, tokens, people
):
    api, _, _ = embedded
    order = issued_order(api, tokens, "CONSOLE-A296-1")
    case_id, request_id = order["case_id"], request_id_of(api, tokens, order["order_id"])
    browser = signed_in(api, people)
    steps = f"/console/requests/{request_id}"
    assert f"{steps}/art29-6-decision" not in browser.go("GET", f"/console/cases/{case_id}")[2]
    status, _, _ = post_on_case(
        browser, case_id, f"{steps}/art29-6-notice",
        {"reason": "confidentiality", "explanation": "the provider would alert the suspect"},
    )  # fmt: skip
    assert status == 303
    page = browser.go("GET", f"/console/cases/{case_id}")[2]
    assert request_status(page) == "awaiting_requester"
    assert f"{steps}/art29-6-notice" not in page  # one notice waits at a time
    status, _, _ = post_on_case(browser, case_id, f"{steps}/art29-6-decision",
                                {"decision": "withdraw", "note": "they prefer MLA"})  # fmt: skip
    assert status == 303
    page = browser.go("GET", f"/console/cases/{case_id}")[2]
    assert request_status(page) == "withdrawn"
    assert "The requesting Party decided: withdraw. they prefer MLA" in text_of(page)


def test_no_order_form_records_why_and_the_request_leaves_needs_action(embedded, tokens, people):
    api, _, _ = embedded
    body = preservation_request("CONSOLE-LAPSE-2", "abroad-isp")
    status, created = api.call("POST", "/api/v1/requests", tokens["prosecution"], body)
    assert status == 201, created
    case_id, request_id = created["case_id"], created["request_id"]
    browser = signed_in(api, people)
    no_order = f"/console/requests/{request_id}/no-order"
    status, _, page = post_on_case(browser, case_id, no_order, {"reason": ""})
    assert status == 422 and "Say why no order is made" in text_of(page)
    status, _, _ = post_on_case(browser, case_id, no_order,
                                {"reason": "the provider is abroad: Art 30 route"})  # fmt: skip
    assert status == 303
    page = browser.go("GET", f"/console/cases/{case_id}")[2]
    assert "No order is made: the provider is abroad: Art 30 route" in text_of(page)
    assert no_order not in page and "Nothing preserves these data yet" not in page
    work = browser.go("GET", "/console")[2].split('id="h-no-order"')[1].split("</section>")[0]
    assert created["acknowledgement"]["our_reference"] not in work


def test_refusal_form_offers_the_grounds_of_the_request_type(embedded, tokens, people):
    api, _, _ = embedded
    body = preservation_request("CONSOLE-TD-1", type="traffic_disclosure")
    status, created = api.call("POST", "/api/v1/requests", tokens["prosecution"], body)
    assert status == 201, created
    case_id, request_id = created["case_id"], created["request_id"]
    browser = signed_in(api, people)
    page = browser.go("GET", f"/console/cases/{case_id}")[2]
    assert "Refuse (Art 30(2))" in page and 'value="dual_criminality"' not in page
    refuse = f"/console/requests/{request_id}/refuse"
    status, _, answer = post_on_case(
        browser,
        case_id,
        refuse,
        {"grounds": ["dual_criminality"], "explanation": "not an offence under our law"},
    )
    assert status == 422 and "grounds: for a traffic_disclosure request, one or more of" in text_of(
        answer
    )
    status, _, _ = post_on_case(
        browser,
        case_id,
        refuse,
        {"grounds": ["ordre_public"], "explanation": "prejudice to public order"},
    )
    assert status == 303
    assert request_status(browser.go("GET", f"/console/cases/{case_id}")[2]) == "refused"


def test_what_cannot_be_undone_is_restated_and_needs_a_reason_of_substance(
    embedded, tokens, people
):
    api, _, _ = embedded
    order = issued_order(api, tokens, "CONSOLE-CONFIRM-1")
    case_id = order["case_id"]
    browser = signed_in(api, people)
    release = f"/console/orders/{order['order_id']}/release"
    _, _, page = browser.go("GET", f"/console/cases/{case_id}")
    form = {"csrf_token": browser.csrf(page), "case_id": case_id}
    status, _, answer = browser.go("POST", release, {**form, "reason": "x"})
    assert status == 422 and "Say why in a sentence" in text_of(answer)
    reason = "the requesting Party no longer needs the data"
    status, _, confirm = browser.go("POST", release, {**form, "reason": reason})
    shown = text_of(confirm)
    assert status == 200 and "Confirm: release the order" in shown
    assert "telco-a" in shown and order["identifiers"][0]["value"] in shown and reason in shown
    status, seen = api.call("GET", f"/api/v1/preservation-orders/{order['order_id']}",
                            tokens["police"])  # fmt: skip
    assert seen["status"] == "issued"  # nothing happened yet
    confirmed = {**form, "reason": reason, "confirmed": "yes"}
    status, headers, _ = browser.go("POST", release, confirmed)
    assert status == 303 and "order-released" in headers["Location"]
    # approving is done from the order's own view, not from the work list
    status, waiting = api.call("POST", "/api/v1/requests", tokens["police"],
                               preservation_request("CONSOLE-CONFIRM-2"))  # fmt: skip
    assert status == 201, waiting
    work = wait_for(
        lambda: "Open to review and approve" in (page := browser.go("GET", "/console")[2]) and page,
        what="the police order awaiting approval on the work list",
    )
    assert "/approve" not in work and f"/console/cases/{waiting['case_id']}#order-" in work
