"""Input validation as the penetration test broke it (issue 17).

A pattern written ``^...$`` and applied with ``re.match`` (as marshmallow's ``Regexp`` does)
lets a trailing newline through: ``"country": "US\\n"`` was a new requesting country, so the
same request opened a second case and sent the provider a second order. Digits of other
scripts passed ``str.isdigit()`` and then broke ``int()`` (``"²"``) or ``hmac.compare_digest``
(``"١٢٣٤٥٦"``) with a 500. The rules now: a pattern matches the whole value
(:class:`cp247.validation.FullMatch`), and a number typed by a person is ASCII digits only
(:func:`cp247.validation.parse_ascii_int`).
"""

from __future__ import annotations

import ast
import html
import importlib
import re
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from marshmallow import Schema, ValidationError, fields, validate
from slice_driver import PASSWORD, Browser, issued_order, preservation_request, wait_for

from cp247 import totp, validation
from services.isp_liaison.domain import ProviderOrder

ROOT = Path(__file__).resolve().parents[2]
SOURCE_FOLDERS = ("events", "services", "cp247")
SCHEMA_MODULES = (
    "events.fields",
    "events.catalogue",
    "events.directory_contracts",
    "services.gateway.bodies",
    *sorted(
        f"services.{path.parent.name}.schemas" for path in (ROOT / "services").glob("*/schemas.py")
    ),
)
RECORDING = ("intake", "preservation", "isp_liaison", "mla")
OTHER_DIGITS = ["١٢٣٤٥٦", "１２３４５６", "²²²²²²", "۱۲۳۴۵۶"]  # Arabic-Indic, fullwidth, ...


# --- every pattern matches the whole value ----------------------------------------------------
def _validators_of(field: fields.Field, where: str, seen: set[type]) -> Iterator[tuple]:
    for validator in field.validators:
        yield where, validator
    if isinstance(field, fields.List):
        yield from _validators_of(field.inner, f"{where}[]", seen)
    elif isinstance(field, fields.Nested):
        yield from _schema_validators(field.schema, where, seen)


def _schema_validators(schema: Schema, where: str, seen: set[type]) -> Iterator[tuple]:
    if type(schema) in seen:
        return
    seen.add(type(schema))
    for name, field in schema.fields.items():
        yield from _validators_of(field, f"{where}.{name}", seen)


def pattern_validators() -> list[tuple[str, validate.Regexp]]:
    """Every pattern validator of the event contracts and the API bodies, with where it is."""
    found = []
    for module_name in SCHEMA_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            where = f"{module_name}.{name}"
            if isinstance(value, type) and issubclass(value, Schema) and value is not Schema:
                validators = _schema_validators(value(), where, set())
            else:
                validators = iter([(where, value)])
            found += [(w, v) for w, v in validators if isinstance(v, validate.Regexp)]
    return found


def test_every_pattern_of_a_schema_matches_the_whole_value_so_a_trailing_newline_is_refused():
    found = pattern_validators()
    assert len(found) >= 10, found  # the walk sees the country codes, e-mails, phones...
    for where, validator in found:
        assert isinstance(validator, validation.FullMatch), (
            f"{where}: a pattern validator must be cp247.validation.FullMatch"
        )
        assert validator(validator.example) == validator.example, where
        for hostile in ("\n", "\r\n", " "):
            with pytest.raises(ValidationError):
                validator(validator.example + hostile)
        with pytest.raises(ValidationError):
            validator("\n" + validator.example)


def test_a_full_match_keeps_its_anchors_for_the_openapi_document():
    """JSON Schema patterns are searched, not matched: the document needs ``^...$``, and an
    alternation stays inside them."""
    either = validation.FullMatch(r"ab|cd", example="ab")
    assert either.regex.pattern == "^(?:ab|cd)$"
    with pytest.raises(ValidationError):
        either("abx")
    with pytest.raises(ValidationError):
        either("xcd")
    assert validation.FullMatch(r"[A-Z]{2}", example="RO").regex.pattern == "^[A-Z]{2}$"


def _compiled_patterns(tree: ast.AST) -> dict[str, str]:
    """``NAME = re.compile("...")`` of a module: name to pattern text."""
    compiled = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and ast.unparse(node.value.func) == "re.compile"
            and node.value.args
            and isinstance(node.value.args[0], ast.Constant)
        ):
            for target in node.targets:
                compiled[ast.unparse(target)] = node.value.args[0].value
    return compiled


def _ends_with_dollar(pattern: object) -> bool:
    return isinstance(pattern, str) and pattern.endswith("$") and not pattern.endswith("\\$")


def test_no_pattern_in_the_code_is_a_dollar_anchored_match():
    """``$`` also matches before a final newline: a pattern that must cover the whole value is
    applied with ``fullmatch`` (or :class:`cp247.validation.FullMatch`), never ``match`` or
    ``search`` with a ``$``, and no schema uses marshmallow's ``Regexp`` directly."""
    offences = []
    for folder in SOURCE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            where = path.relative_to(ROOT)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            compiled = _compiled_patterns(tree)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                call = ast.unparse(node.func)
                first = next((a.value for a in node.args[:1] if isinstance(a, ast.Constant)), None)
                if call.endswith("Regexp") and str(where) != "cp247/validation.py":
                    offences.append(f"{where}:{node.lineno}: {call}, use FullMatch")
                elif call in ("re.match", "re.search") and _ends_with_dollar(first):
                    offences.append(f"{where}:{node.lineno}: {call} with {first!r}")
                elif (
                    isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("match", "search")
                    and _ends_with_dollar(compiled.get(ast.unparse(node.func.value)))
                ):
                    offences.append(f"{where}:{node.lineno}: {call} of a $-anchored pattern")
    assert offences == []


def _unsigned(order: ProviderOrder) -> bool:
    return not order.signed


def heads(platform) -> dict[str, int]:
    """Where the recording services' outboxes stand once every pending event is applied."""
    isp = platform.apps["isp_liaison"]  # documents are signed beside delivery (issue 19)
    wait_for(lambda: not list(isp.still_open(ProviderOrder, _unsigned)), what="orders signed")
    platform.deliver()
    return {name: platform.apps[name].outbox_head() for name in RECORDING}


def with_newline(body: dict, path: str) -> dict:
    """``body`` with a newline after the value at ``path`` (dotted)."""
    *parents, last = path.split(".")
    inner = body
    for key in parents:
        inner = inner[key]
    inner[last] = inner[last] + "\n"
    return body


@pytest.mark.parametrize(
    "path", ["requesting_authority.country", "counterpart_country", "data.custodian.country"]
)
def test_a_country_with_a_trailing_newline_is_refused_not_a_new_case(embedded, tokens, path):
    api, _, platform = embedded
    order = issued_order(api, tokens, "NEWLINE-1")  # sent once, correctly: one case, one order
    before = heads(platform)

    body = preservation_request("NEWLINE-1")
    body["data"]["custodian"]["country"] = "RO"
    status, answer = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], with_newline(body, path)
    )
    assert status == 422 and path in answer["fields"], answer
    assert heads(platform) == before  # nothing recorded: no second case, no second order

    status, cases = api.call("GET", "/api/v1/cases", tokens["police"])
    assert status == 200 and [c["case_id"] for c in cases["cases"]] == [order["case_id"]]
    status, inbox = api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])
    assert status == 200 and [o["order_id"] for o in inbox["orders"]] == [order["order_id"]]


# --- one ASCII-digit parser -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("90", 90), ("0030", 30), ("٣٠", None), ("３０", None), ("²", None), ("", None),
     (" 30", None), ("30\n", None), ("+30", None), ("-1", None), ("3_0", None), ("1" * 5000, None),
     (None, None), (30, None)],
)  # fmt: skip
def test_only_ascii_digits_are_a_number(text, expected):
    assert validation.parse_ascii_int(text) == expected
    assert validation.ascii_digits(text) is (expected is not None)


@pytest.mark.parametrize("code", OTHER_DIGITS)
def test_a_totp_code_in_other_digits_is_refused_not_a_500(code):
    secret = totp.new_secret()
    assert totp.matching_step(secret, code, time.time()) is None
    assert totp.verify(secret, code, time.time()) is False


def test_matching_step_is_the_step_of_the_code():
    secret, now = totp.new_secret(), 1_000_000_000.0
    step = int(now // totp.STEP_SECONDS)
    assert totp.matching_step(secret, totp.code_at(secret, now), now) == step
    earlier = totp.code_at(secret, now - totp.STEP_SECONDS)
    assert totp.matching_step(secret, earlier, now) in (step - 1, step)  # equal codes: either
    assert totp.matching_step(secret, totp.code_at(secret, now - 300), now) in (None, step)


def second_factor_of(platform, username: str) -> str:
    uri = platform.apps["gateway"].enrol_second_factor(username)
    return urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]


def signed_in(api, platform) -> Browser:
    browser = Browser(api.base_url)
    code = totp.code_at(second_factor_of(platform, "pat"), time.time())
    form = {"username": "pat", "password": PASSWORD, "totp": code}
    status, _, page = browser.go("POST", "/login", form)
    assert status == 303, page[:500]
    return browser


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


@pytest.mark.parametrize("code", OTHER_DIGITS)
def test_a_login_with_a_code_in_other_digits_is_a_401_not_a_500(embedded, tokens, code):
    api, _, platform = embedded
    platform.apps["gateway"].pause = lambda seconds: None
    second_factor_of(platform, "poe")
    login = {"username": "poe", "password": PASSWORD, "totp": code}
    status, body = api.call("POST", "/api/v1/login", None, login)
    assert status == 401, body
    status, _, page = Browser(api.base_url).go("POST", "/login", login)
    assert status == 401 and "Traceback" not in page, page[:500]


@pytest.mark.parametrize("days", ["٣٠", "３０", "²"])
def test_non_ascii_digits_in_the_extension_form_are_a_form_error_not_a_500(embedded, tokens, days):
    api, _, platform = embedded
    order = issued_order(api, tokens, "DIGITS-EXTEND")
    browser = signed_in(api, platform)
    case_page = f"/console/cases/{order['case_id']}"
    form = {"csrf_token": browser.csrf_of(case_page), "case_id": order["case_id"], "days": days}
    status, _, answer = browser.go("POST", f"/console/orders/{order['order_id']}/extend", form)
    assert status == 422 and "days: a whole number of days." in text_of(answer), answer[:500]
    _, now = api.call("GET", f"/api/v1/isp/orders/{order['order_id']}", tokens["isp_a"])
    assert now["expires_at"] == order["expires_at"]  # not extended by 30 days read from "٣٠"


@pytest.mark.parametrize("period", ["٣٠", "３０", "²"])
def test_non_ascii_digits_in_the_request_form_are_a_form_error_not_a_500(embedded, tokens, period):
    api, _, platform = embedded
    browser = signed_in(api, platform)
    form = {
        "csrf_token": browser.csrf_of("/console/requests/new"), "direction": "incoming",
        "type": "preservation", "ra_country": "US", "ra_contact_point": "US 24/7",
        "ra_reference": "DIGITS-FORM", "offence_description": "fraud",
        "offence_summary_of_facts": "money moved", "identifiers": "domain example.org",
        "data_relationship": "the fraud site", "provider_id": "telco-a",
        "necessity": "logs are deleted", "mla_intended": "yes", "period_days": period,
    }  # fmt: skip
    status, _, page = browser.go("POST", "/console/requests/new", form)
    assert status == 422 and "Period: give a whole number of days" in text_of(page), page[:500]
    status, cases = api.call("GET", "/api/v1/cases", tokens["police"])
    assert status == 200 and cases["cases"] == []


@pytest.mark.parametrize("port", ["٥١٢٣٤", "²"])
def test_non_ascii_digits_as_an_identifiers_port_are_a_form_error_not_a_500(embedded, tokens, port):
    api, _, platform = embedded
    browser = signed_in(api, platform)
    form = {
        "csrf_token": browser.csrf_of("/console/requests/new"), "direction": "incoming",
        "type": "preservation", "ra_country": "US", "ra_contact_point": "US 24/7",
        "ra_reference": "DIGITS-PORT", "offence_description": "fraud",
        "offence_summary_of_facts": "money moved", "data_relationship": "the fraud server",
        "identifiers": f"ip 192.0.2.1 {port} 2026-11-27T22:14:05-05:00",
        "provider_id": "telco-a", "necessity": "logs are deleted", "mla_intended": "yes",
    }  # fmt: skip
    status, _, page = browser.go("POST", "/console/requests/new", form)
    assert status == 422 and "Traceback" not in page, page[:500]
    status, cases = api.call("GET", "/api/v1/cases", tokens["police"])
    assert status == 200 and cases["cases"] == []


@pytest.mark.parametrize("records", ["١٢", "²"])
def test_non_ascii_digits_in_the_portals_record_count_are_a_form_error_not_a_500(
    embedded, tokens, records
):
    api, _, _ = embedded
    order = issued_order(api, tokens, "DIGITS-PORTAL")
    browser = Browser(api.base_url)
    status, _, _ = browser.go("POST", "/portal/login", {"token": tokens["isp_a"]})
    assert status == 303
    page = f"/portal/orders/{order['order_id']}"
    form = {"csrf_token": browser.csrf_of(page), "note": "kept", "records": records}
    status, _, answer = browser.go("POST", f"{page}/preserved", form)
    assert status == 422 and "Traceback" not in answer, answer[:500]
    _, now = api.call("GET", f"/api/v1/isp/orders/{order['order_id']}", tokens["isp_a"])
    assert now["status"] == order["status"]
