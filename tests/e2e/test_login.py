"""Login with password and second factor; failures slow the address that fails (the account
itself is never locked: tests/security/test_identity.py)."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlparse

from slice_driver import PASSWORD

from cp247 import totp


def test_login_needs_password_and_code_and_slows_the_address_after_five_failures(embedded):
    api, cli, platform = embedded
    platform.apps["gateway"].pause = lambda seconds: None  # the account's pauses: not here
    platform.apps["gateway"].throttle.clock = lambda: 1_000_000.0  # no delay runs out
    cli.ok("users", "add", "--username", "poe", "--role", "police", "--password", PASSWORD)
    status, body = api.call(
        "POST", "/api/v1/login", None, {"username": "poe", "password": PASSWORD}
    )
    assert status == 401, body  # no second factor enrolled yet: the answer of any failure

    uri = cli.ok("users", "enrol-totp", "--username", "poe")
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    code = totp.code_at(secret, time.time())
    good = {"username": "poe", "password": PASSWORD, "totp": code}
    status, session = api.call("POST", "/api/v1/login", None, good)
    assert status == 200, session
    assert api.call("GET", "/api/v1/cases", session["token"])[0] == 200

    wrong = "000000" if code != "000000" else "111111"
    for attempt in (
        {**good, "totp": wrong},
        {**good, "password": "nope"},
        {**good, "username": "x"},
    ):
        assert api.call("POST", "/api/v1/login", None, attempt)[0] == 401
    for _ in range(3):
        api.call("POST", "/api/v1/login", None, {**good, "totp": wrong})
    status, body = api.call("POST", "/api/v1/login", None, good)  # right, but from there
    assert status == 429 and body["error"] == "too_many_attempts", body


def test_session_cookie_is_httponly_secure_and_strict(embedded):
    import urllib.request

    api, cli, _ = embedded
    cli.ok("users", "add", "--username", "ovi", "--role", "oversight", "--password", PASSWORD)
    uri = cli.ok("users", "enrol-totp", "--username", "ovi")
    code = totp.code_at(parse_qs(urlparse(uri).query)["secret"][0], time.time())
    request = urllib.request.Request(
        api.base_url + "/api/v1/login",
        data=json.dumps({"username": "ovi", "password": PASSWORD, "totp": code}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # oversight: no console
        cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie
