"""Session cookies, CSRF, logout and security headers, over real HTTP against the embedded
gateway (the browser's view: a cookie, no bearer header)."""

from __future__ import annotations

import http.client
import json
import re
import threading
from typing import Any
from urllib.parse import parse_qs, urlparse

from slice_driver import PASSWORD, preservation_request, unused_totp

from cp247.bootstrap import make_application
from services.gateway.api import Gateway

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
EVERYWHERE = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
DUMMY = "00000000-0000-4000-8000-000000000000"


def send(
    base_url: str,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> tuple[int, http.client.HTTPMessage, Any]:
    """One request exactly as given (no cookie jar, no redirects): status, headers, body."""
    url = urlparse(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    try:
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    try:
        parsed: Any = json.loads(payload)
    except ValueError:
        parsed = payload.decode(errors="replace")
    return response.status, response.headers, parsed


def login(api, platform, username: str) -> tuple[dict[str, str], str]:
    """Enrol a second factor for ``username`` if needed and log in over HTTP: the login body
    and the Set-Cookie header."""
    identity = platform.apps["gateway"]
    user = identity._user(username)
    if user.totp_secret is None:
        uri = identity.enrol_second_factor(username)
        secret = parse_qs(urlparse(uri).query)["secret"][0]
    else:
        secret = user.totp_secret
    code = unused_totp(secret, identity._user(username).last_totp_step)  # a code is good once
    credentials = {"username": username, "password": PASSWORD, "totp": code}
    status, headers, session = send(api.base_url, "POST", "/api/v1/login", body=credentials)
    assert status == 200, session
    return session, headers["Set-Cookie"]


def cookie(session: dict[str, str]) -> dict[str, str]:
    return {"Cookie": f"cp247_session={session['token']}"}


def test_login_returns_a_csrf_token_and_the_cookie_authenticates_reads(embedded, tokens):
    api, _, platform = embedded
    session, set_cookie = login(api, platform, "poe")
    assert set_cookie.startswith(f"cp247_session={session['token']};"), set_cookie
    assert re.fullmatch(r"[0-9a-f]{64}", session["csrf_token"]), session
    assert session["csrf_token"] != session["token"]

    status, _, body = send(api.base_url, "GET", "/api/v1/cases", cookie(session))
    assert status == 200 and body == {"cases": []}, body
    status, _, body = send(api.base_url, "GET", "/api/v1/cases")
    assert status == 401 and body["error"] == "unauthorized", body
    forged = {"Cookie": "cp247_session=cp247_forged"}
    assert send(api.base_url, "GET", "/api/v1/cases", forged)[0] == 401
    # A cookie carries its user's role like a bearer token does.
    status, _, body = send(api.base_url, "GET", "/api/v1/stats", cookie(session))
    assert status == 403 and body["error"] == "forbidden", body

    # Another session has another CSRF token; a second gateway replica (its own identity
    # application on the same settings) recomputes the same one: no per-process secret.
    other, _ = login(api, platform, "poe")
    assert other["csrf_token"] != session["csrf_token"]
    replica = make_application("gateway", platform.settings)
    try:
        assert replica.csrf_token(session["token"]) == session["csrf_token"]
    finally:
        replica.close()


def test_a_cookie_request_that_changes_something_needs_the_sessions_csrf_token(embedded, tokens):
    api, _, platform = embedded
    session, _ = login(api, platform, "pat")
    other, _ = login(api, platform, "poe")
    path = "/api/v1/requests"

    status, _, body = send(api.base_url, "POST", path, cookie(session), preservation_request("C1"))
    assert status == 403, body
    assert set(body) == {"error", "message"} and body["error"] == "csrf_token_invalid", body
    for wrong in ("0" * 64, other["csrf_token"], session["token"], "é"):
        headers = {**cookie(session), "X-CSRF-Token": wrong}
        status, _, body = send(api.base_url, "POST", path, headers, preservation_request("C2"))
        assert status == 403 and body["error"] == "csrf_token_invalid", (wrong, body)
    status, _, body = send(api.base_url, "GET", "/api/v1/cases", cookie(session))
    assert status == 200 and body["cases"] == [], body  # nothing was registered

    headers = {**cookie(session), "X-CSRF-Token": session["csrf_token"]}
    status, _, body = send(api.base_url, "POST", path, headers, preservation_request("C3"))
    assert status == 201, body
    status, _, case = send(api.base_url, "GET", f"/api/v1/cases/{body['case_id']}", headers)
    assert status == 200 and case["case_id"] == body["case_id"], case


def test_bearer_requests_need_no_csrf_token_and_the_header_wins_over_the_cookie(embedded, tokens):
    api, _, platform = embedded
    bearer = {"Authorization": f"Bearer {tokens['police']}"}
    status, _, body = send(api.base_url, "POST", "/api/v1/requests", bearer,
                           preservation_request("B1"))  # fmt: skip
    assert status == 201, body

    # A valid bearer header with a stale cookie: the header decides, still no CSRF needed.
    stale = {**bearer, "Cookie": "cp247_session=cp247_forged"}
    status, _, body = send(api.base_url, "POST", "/api/v1/requests", stale,
                           preservation_request("B2"))  # fmt: skip
    assert status == 201, body
    # An invalid bearer header with a valid cookie: the header decides, so 401.
    session, _ = login(api, platform, "poe")
    headers = {**cookie(session), "X-CSRF-Token": session["csrf_token"]}
    status, _, body = send(api.base_url, "GET", "/api/v1/cases",
                           {**headers, "Authorization": "Bearer cp247_forged"})  # fmt: skip
    assert status == 401, body
    # The bearer's role counts, not the cookie's: an ISP token with a police cookie.
    isp = {**headers, "Authorization": f"Bearer {tokens['isp_a']}"}
    assert send(api.base_url, "GET", "/api/v1/cases", isp)[0] == 403
    assert send(api.base_url, "GET", "/api/v1/isp/orders", isp)[0] == 200


def assert_secured(
    headers: http.client.HTTPMessage, no_store: bool = True, hsts: bool = True
) -> None:
    for name, value in EVERYWHERE.items():
        assert headers[name] == value, (name, headers[name])
    assert (headers["Cache-Control"] == "no-store") is no_store, headers["Cache-Control"]
    assert (headers["Strict-Transport-Security"] == "max-age=31536000") is hsts, headers


def test_security_headers_are_on_every_kind_of_response(embedded, tokens):
    api, _, _ = embedded
    bearer = {"Authorization": f"Bearer {tokens['police']}"}
    status, headers, _ = send(api.base_url, "GET", "/api/v1/cases", bearer)  # JSON 200
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert_secured(headers)
    for path, who in (("/no/such/page", {}), (f"/api/v1/cases/{DUMMY}", bearer)):  # 404s
        status, headers, body = send(api.base_url, "GET", path, who)
        assert status == 404, body
        assert_secured(headers)
    status, headers, body = send(api.base_url, "POST", "/api/v1/requests")  # 401 error
    assert status == 401 and headers["WWW-Authenticate"], body
    assert_secured(headers)
    status, headers, _ = send(api.base_url, "DELETE", "/api/v1/cases", bearer)  # 405
    assert status == 405
    assert_secured(headers)

    status, headers, page = send(api.base_url, "GET", "/")  # the HTML login page
    assert status == 200 and headers["Content-Type"].startswith("text/html"), page
    assert_secured(headers)
    # Nothing the policy would block: scripts and styles only from served files.
    assert "<style" not in page and " style=" not in page, page
    assert all('src="/static/' in tag for tag in re.findall(r"<script[^>]*>", page)), page
    assert re.search(r"""<link rel="stylesheet" href="/static/console.css">""", page), page
    for name, kind in (("console.css", "text/css"), ("console.js", "text/javascript")):
        status, headers, body = send(api.base_url, "GET", f"/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind), body
        assert_secured(headers, no_store=False)
    assert "font-family" in send(api.base_url, "GET", "/static/console.css")[2]


def test_no_strict_transport_security_on_plain_http_laptops(embedded, monkeypatch):
    """``CP247_INSECURE_COOKIES=1`` (plain http): no HSTS, and a cookie without Secure."""
    from werkzeug.serving import make_server

    _, _, platform = embedded
    monkeypatch.setenv("CP247_INSECURE_COOKIES", "1")
    server = make_server("127.0.0.1", 0, Gateway(platform).wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base_url = f"http://127.0.0.1:{server.server_port}"
        status, headers, _ = send(base_url, "GET", "/healthz")
        assert status == 200
        assert_secured(headers, hsts=False)
        status, headers, _ = send(base_url, "GET", "/api/v1/openapi.json")
        assert status == 200
        assert_secured(headers, hsts=False)
    finally:
        server.shutdown()
        server.server_close()


def test_logout_revokes_the_session_and_clears_the_cookie(embedded, tokens):
    api, _, platform = embedded
    session, _ = login(api, platform, "poe")
    status, _, body = send(api.base_url, "POST", "/api/v1/logout", cookie(session))
    assert status == 403 and body["error"] == "csrf_token_invalid", body  # CSRF applies
    assert send(api.base_url, "GET", "/api/v1/cases", cookie(session))[0] == 200

    headers = {**cookie(session), "X-CSRF-Token": session["csrf_token"]}
    status, response_headers, body = send(api.base_url, "POST", "/api/v1/logout", headers)
    assert status == 200 and body == {"status": "logged_out"}, body
    cleared = response_headers["Set-Cookie"]
    assert cleared.startswith("cp247_session=;") and "Max-Age=0" in cleared, cleared
    assert_secured(response_headers)
    status, _, body = send(api.base_url, "GET", "/api/v1/cases", cookie(session))
    assert status == 401 and body["error"] == "unauthorized", body
    bearer = {"Authorization": f"Bearer {session['token']}"}
    assert send(api.base_url, "GET", "/api/v1/cases", bearer)[0] == 401

    # A session used as a bearer token logs out the same way, without CSRF.
    second, _ = login(api, platform, "poe")
    bearer = {"Authorization": f"Bearer {second['token']}"}
    status, _, body = send(api.base_url, "POST", "/api/v1/logout", bearer)
    assert status == 200 and body == {"status": "logged_out"}, body
    assert send(api.base_url, "GET", "/api/v1/cases", bearer)[0] == 401

    # A long-lived API token is no session: logout refuses and the token keeps working.
    api_token = {"Authorization": f"Bearer {tokens['police']}"}
    status, _, body = send(api.base_url, "POST", "/api/v1/logout", api_token)
    assert status == 409, body
    assert send(api.base_url, "GET", "/api/v1/cases", api_token)[0] == 200
    # ISPs have no console sessions.
    isp = {"Authorization": f"Bearer {tokens['isp_a']}"}
    assert send(api.base_url, "POST", "/api/v1/logout", isp)[0] == 403
