"""Finding a case the way people name it (issue 21, item 1): our reference or the
requester's, a provider, a country in any case, a short case id; a page at a time; and the
console resolves a short id or a reference typed in the address bar."""

from __future__ import annotations

import urllib.parse

from slice_driver import PASSWORD, Browser, preservation_request, unused_totp


def register(api, tokens, reference: str, **overrides) -> dict:
    body = preservation_request(reference, **overrides)
    status, created = api.call("POST", "/api/v1/requests", tokens["police"], body)
    assert status == 201, created
    return created


def found(api, tokens, **query) -> list[str]:
    status, body = api.call(
        "GET", f"/api/v1/cases?{urllib.parse.urlencode(query)}", tokens["police"]
    )
    assert status == 200, body
    return [case["case_id"] for case in body["cases"]]


def test_cases_are_found_by_either_reference_a_provider_a_country_or_a_short_id(embedded, tokens):
    api, _, _ = embedded
    german = preservation_request("BKA-SO43-7781", provider_id="telco-b")
    german["requesting_authority"]["country"] = german["counterpart_country"] = "DE"
    status, bka = api.call("POST", "/api/v1/requests", tokens["police"], german)
    assert status == 201, bka
    fbi = register(api, tokens, "FBI-2026-0042")
    ours = api.call("GET", f"/api/v1/requests/{bka['request_id']}", tokens["police"])[1]

    assert found(api, tokens, q="bka-so43") == [bka["case_id"]]  # theirs, any case
    assert found(api, tokens, q=ours["our_reference"].lower()) == [bka["case_id"]]  # ours
    assert found(api, tokens, q="TELCO-B") == [bka["case_id"]]  # a provider
    assert found(api, tokens, country="de") == [bka["case_id"]]  # a country in any case
    assert found(api, tokens, q="us") == [fbi["case_id"]]
    assert found(api, tokens, q=fbi["case_id"][:8]) == [fbi["case_id"]]  # a short id
    assert found(api, tokens, q="nobody-has-this") == []
    # a page at a time, newest first; every case says its references
    assert found(api, tokens, limit=1) == [fbi["case_id"]]
    assert found(api, tokens, limit=1, offset=1) == [bka["case_id"]]
    _, listed = api.call("GET", "/api/v1/cases?q=bka", tokens["police"])
    [reference] = listed["cases"][0]["references"]
    assert reference["their_reference"] == "BKA-SO43-7781"
    assert reference["our_reference"] == ours["our_reference"]
    for bad in ("limit=1&offset=-1", "offset=x", f"q={'x' * 201}"):
        assert api.call("GET", f"/api/v1/cases?{bad}", tokens["police"])[0] == 422, bad


def test_the_console_opens_a_case_from_a_short_id_or_a_reference_and_names_it_by_them(
    embedded, tokens
):
    api, _, platform = embedded
    identity = platform.apps["gateway"]
    uri = identity.enrol_second_factor("pat")
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    browser = Browser(api.base_url)
    code = unused_totp(secret, identity._user("pat").last_totp_step)
    browser.go("POST", "/login", {"username": "pat", "password": PASSWORD, "totp": code})
    created = register(api, tokens, "NL-POLITIE-5521")
    ours = api.call("GET", f"/api/v1/requests/{created['request_id']}", tokens["police"])[1]

    for name in (created["case_id"][:8], ours["our_reference"], "nl-politie-5521"):
        status, headers, _ = browser.go("GET", f"/console/cases/{name}")
        assert status == 303, (name, status)
        assert headers["Location"].endswith(f"/console/cases/{created['case_id']}"), name
    status, _, page = browser.go("GET", f"/console/cases/{created['case_id']}")
    assert status == 200 and f"Case {ours['our_reference']}" in page
    assert "their reference NL-POLITIE-5521" in page
    status, _, listed = browser.go("GET", "/console/cases?q=politie")
    assert status == 200 and ours["our_reference"] in listed and "NL-POLITIE-5521" in listed
    # a name that matches nothing: the (empty) list, not an error page
    status, headers, _ = browser.go("GET", "/console/cases/NOTHING-LIKE-IT")
    assert status == 303 and "q=NOTHING-LIKE-IT" in headers["Location"]


def test_the_work_list_names_cases_by_their_references_and_keeps_far_follow_ups_on_the_case(
    embedded, tokens
):
    from slice_driver import issued_order, wait_for

    api, _, _ = embedded
    order = issued_order(api, tokens, "WORK-NAMES-1")  # preserved 90 days: MLA due in 90
    case_id = order["case_id"]
    follow_ups = wait_for(
        lambda: api.call("GET", f"/api/v1/cases/{case_id}", tokens["police"])[1]["mla"],
        what="the MLA follow-up on the case",
    )
    assert follow_ups[0]["closed"] is None
    _, work = api.call("GET", "/api/v1/work", tokens["police"])
    assert case_id not in [f["case_id"] for f in work["follow_ups"]]  # beyond 30 days
    assert work["case_names"][case_id].endswith(" · WORK-NAMES-1")
    assert work["case_names"][case_id].startswith("CP247-")


def test_the_request_form_offers_the_directories_to_pick_from(embedded, tokens):
    api, _, platform = embedded
    identity = platform.apps["gateway"]
    uri = identity.enrol_second_factor("pat")
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    browser = Browser(api.base_url)
    code = unused_totp(secret, identity._user("pat").last_totp_step)
    browser.go("POST", "/login", {"username": "pat", "password": PASSWORD, "totp": code})
    status, listed = api.call("GET", "/api/v1/providers", tokens["police"])
    assert (
        status == 200
        and {"provider_id": "telco-a", "name": "Telco-A", "country": "RO"} in (listed["providers"])
    )
    assert api.call("GET", "/api/v1/providers", tokens["isp_a"])[0] == 403
    status, _, page = browser.go("GET", "/console/requests/new")
    assert status == 200
    assert 'list="dl-provider_id"' in page and '<option value="telco-a">Telco-A (RO)' in page
    assert '<option value="America/New_York">' in page and 'list="dl-ra_time_zone"' in page
    # countries come from the contact-point directory, empty here: no list to offer
    assert 'list="dl-ra_country"' not in page
