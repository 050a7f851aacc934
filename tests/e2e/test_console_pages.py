"""The browser pages without a browser: sign-in redirects, CSRF on every form, role
refusals as sentences, no open redirect after login."""

from __future__ import annotations

import http.client
import re
import time
import urllib.parse

import pytest
from slice_driver import PASSWORD, run_slice

from cp247 import totp


class Browser:
    """Just enough of one: a cookie jar of one cookie, forms posted as browsers do."""

    def __init__(self, base_url: str):
        self.host = base_url.split("//")[1]
        self.cookie: str | None = None

    def go(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        connection = http.client.HTTPConnection(self.host, timeout=30)
        headers = {"Cookie": f"cp247_session={self.cookie}"} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read().decode("utf-8", "replace")
        found = re.search(r"cp247_session=([^;]*)", response.getheader("Set-Cookie") or "")
        if found:
            self.cookie = found.group(1) or None
        return response.status, dict(response.getheaders()), answer

    @staticmethod
    def csrf(page: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def people(embedded, tokens):
    _, _, platform = embedded
    identity = platform.apps["gateway"]
    uri = identity.enrol_second_factor("pat")
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    return {"pat": secret}


def log_in(browser: Browser, secret: str, next_path: str = "") -> tuple[int, dict, str]:
    code = totp.code_at(secret, time.time())
    form = {"username": "pat", "password": PASSWORD, "totp": code, "next": next_path}
    return browser.go("POST", "/login", form)


def test_pages_need_a_session_and_come_back_after_login(embedded, people):
    api, _, _ = embedded
    browser = Browser(api.base_url)
    status, headers, _ = browser.go("GET", "/console/cases?type=preservation")
    assert status == 303 and headers["Location"].startswith("/login?next=")
    status, headers, _ = log_in(browser, people["pat"], "/console/cases?type=preservation")
    assert status == 303 and headers["Location"] == "/console/cases?type=preservation"
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    status, _, page = browser.go("GET", "/console/cases")
    assert status == 200 and "Cases" in page


def test_login_never_sends_anyone_to_another_site(embedded, people):
    api, _, _ = embedded
    status, headers, _ = log_in(Browser(api.base_url), people["pat"], "//evil.example/x")
    assert status == 303 and headers["Location"] == "/console"


def test_every_form_needs_the_sessions_csrf_token(embedded, tokens, people):
    api, _, _ = embedded
    case_id = run_slice(api, tokens, "CONSOLE-CSRF")["case_id"]
    browser = Browser(api.base_url)
    log_in(browser, people["pat"])
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
    log_in(browser, people["pat"])
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
