"""Sign-in and the life of an account, as the penetration test tried them (issue 17).

Each test reproduces a finding: a lock-out anyone could trigger, answers that told which
usernames exist, a code usable twice, oversight without a second factor, no way to disable a
leaver or to end a stolen provider token nobody knows, an open redirect and login CSRF."""

from __future__ import annotations

import json
import re
import time
import urllib.parse

import pytest
from slice_driver import PASSWORD, exchange

from cp247 import metrics, totp
from services.gateway.login_throttle import BURST_FAILURES, FREE_FAILURES

ATTACKER, OFFICE = "203.0.113.9", "198.51.100.7"


def send(api, method: str, path: str, body: bytes | None, headers: dict[str, str]):
    return exchange(api.base_url, method, path, body, headers)


def login(api, body: dict, source: str = OFFICE, **headers: str):
    status, answer_headers, raw = send(
        api, "POST", "/api/v1/login", json.dumps(body).encode(),
        {"Content-Type": "application/json", "X-Forwarded-For": source, **headers},
    )  # fmt: skip
    try:
        return status, json.loads(raw), answer_headers
    except ValueError:
        return status, raw, answer_headers


@pytest.fixture
def people(embedded, tokens, monkeypatch):
    """poe (police) with a second factor; pauses recorded instead of slept; one proxy hop
    trusted so that each test can speak from the attacker's or the office's address."""
    monkeypatch.setenv("CP247_TRUSTED_PROXY_HOPS", "1")
    _, _, platform = embedded
    identity = platform.apps["gateway"]
    pauses: list[float] = []
    identity.pause = pauses.append
    identity.throttle.clock = lambda: 1_000_000.0  # time stands still: no delay runs out
    uri = identity.enrol_second_factor("poe")
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    return {"identity": identity, "secret": secret, "pauses": pauses}


def good_login(secret: str, at: float | None = None) -> dict[str, str]:
    return {
        "username": "poe",
        "password": PASSWORD,
        "totp": totp.code_at(secret, at or time.time()),
    }


def test_failed_logins_never_lock_out_the_right_password_and_code(embedded, people):
    api, _, _ = embedded
    wrong = {"username": "poe", "password": "not the password", "totp": "123456"}
    answers = [login(api, wrong, ATTACKER)[0] for _ in range(FREE_FAILURES + 3)]
    assert answers[:FREE_FAILURES] == [401] * FREE_FAILURES
    assert set(answers[FREE_FAILURES:]) == {429}  # the guesser's own address is held back
    status, body, headers = login(api, wrong, ATTACKER)
    assert status == 429 and int(headers["Retry-After"]) >= 1 and body["retry_after_seconds"]
    # The officer, from the office, with the right password and code: in at once.
    status, session, _ = login(api, good_login(people["secret"]), OFFICE)
    assert status == 200, session
    # Failures of the account beyond the free ones were answered ever more slowly.
    pauses = people["pauses"]
    assert pauses[:FREE_FAILURES] == [0.0] * FREE_FAILURES or pauses[0] == 0.0
    assert all(later >= earlier for earlier, later in zip(pauses, pauses[1:], strict=False))


def test_unknown_users_get_the_same_answers_as_real_ones(embedded, people):
    api, cli, _ = embedded
    cli.ok("users", "add", "--username", "newbie", "--role", "police", "--password", PASSWORD)
    answers = {
        "wrong password": login(api, {"username": "poe", "password": "x" * 12, "totp": "1"}),
        "unknown user": login(api, {"username": "nobody", "password": "x" * 12, "totp": "1"}),
        # The right password of an account with no second factor yet: no different answer.
        "right password, no factor": login(api, {"username": "newbie", "password": PASSWORD}),
    }
    bodies = {what: (status, body) for what, (status, body, _) in answers.items()}
    assert len(set(json.dumps(v, sort_keys=True) for v in bodies.values())) == 1, bodies
    assert bodies["unknown user"][0] == 401
    # After as many failures as lock a real account's address, the unknown one is the same.
    for username in ("poe", "nobody"):
        statuses = [
            login(api, {"username": username, "password": "y" * 12}, f"192.0.2.{len(username)}")[0]
            for _ in range(FREE_FAILURES + 1)
        ]
        assert statuses == [401] * FREE_FAILURES + [429], (username, statuses)


def test_a_totp_code_works_once(embedded, people):
    api, _, _ = embedded
    body = good_login(people["secret"])
    assert login(api, body)[0] == 200
    status, answer, _ = login(api, body)  # the same code, seen over a shoulder
    assert status == 401 and answer["error"] == "unauthorized", answer
    later = good_login(people["secret"], time.time() + totp.STEP_SECONDS)  # the next code
    assert login(api, later)[0] == 200


def test_oversight_needs_a_second_factor_too(embedded, people):
    api, cli, _ = embedded
    cli.ok("users", "add", "--username", "ovi", "--role", "oversight", "--password", PASSWORD)
    assert login(api, {"username": "ovi", "password": PASSWORD})[0] == 401
    uri = cli.ok("users", "enrol-totp", "--username", "ovi")
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    code = totp.code_at(secret, time.time())
    assert login(api, {"username": "ovi", "password": PASSWORD, "totp": code})[0] == 200


def test_a_disabled_user_cannot_sign_in_and_every_token_of_it_ends(embedded, people, tokens):
    api, cli, _ = embedded
    status, session, _ = login(api, good_login(people["secret"]))
    assert status == 200
    long_lived = tokens["police"]
    for token in (session["token"], long_lived):
        assert api.call("GET", "/api/v1/cases", token)[0] == 200
    cli.ok("users", "disable", "--username", "poe")
    for token in (session["token"], long_lived):
        assert api.call("GET", "/api/v1/cases", token)[0] == 401
    later = good_login(people["secret"], time.time() + totp.STEP_SECONDS)
    assert login(api, later)[0] == 401
    cli.ok("users", "enable", "--username", "poe")
    assert api.call("GET", "/api/v1/cases", long_lived)[0] == 401  # earlier tokens stay ended
    assert login(api, later)[0] == 200


def test_setting_a_password_ends_the_sessions_and_the_old_password(embedded, people):
    api, cli, _ = embedded
    status, session, _ = login(api, good_login(people["secret"]))
    assert status == 200
    cli.ok("users", "set-password", "--username", "poe", stdin="a-brand-new-passphrase\n")
    assert api.call("GET", "/api/v1/cases", session["token"])[0] == 401
    later = good_login(people["secret"], time.time() + totp.STEP_SECONDS)
    assert login(api, later)[0] == 401
    assert login(api, {**later, "password": "a-brand-new-passphrase"})[0] == 200


def test_every_token_of_a_provider_ends_even_one_whose_string_is_unknown(embedded, tokens):
    api, cli, _ = embedded
    stolen = tokens["isp_a"]  # nobody knows which string was taken
    assert api.call("GET", "/api/v1/isp/orders", stolen)[0] == 200
    status, body = api.call(
        "POST", "/api/v1/admin/providers/telco-a/revoke-tokens", tokens["admin"], {}
    )
    assert status == 200 and body["provider_id"] == "telco-a", body
    assert api.call("GET", "/api/v1/isp/orders", stolen)[0] == 401
    assert api.call("GET", "/api/v1/isp/orders", tokens["isp_b"])[0] == 200  # others unharmed
    fresh = cli.ok("tokens", "issue", "--provider", "telco-a")
    assert api.call("GET", "/api/v1/isp/orders", fresh)[0] == 200
    cli.ok("tokens", "revoke-all", "--provider", "telco-a")
    assert api.call("GET", "/api/v1/isp/orders", fresh)[0] == 401
    # Only admins; an unknown provider is a 404.
    assert api.call("POST", "/api/v1/admin/providers/telco-b/revoke-tokens", tokens["police"],
                    {})[0] == 403  # fmt: skip
    assert api.call("POST", "/api/v1/admin/providers/nope/revoke-tokens", tokens["admin"],
                    {})[0] == 404  # fmt: skip


def test_admins_list_accounts_with_their_last_login(embedded, people, tokens):
    api, cli, _ = embedded
    assert login(api, good_login(people["secret"]))[0] == 200
    status, body = api.call("GET", "/api/v1/admin/users", tokens["admin"])
    assert status == 200, body
    users = {u["username"]: u for u in body["users"]}
    assert set(users) >= {"pat", "poe", "ada"}
    assert users["poe"]["last_login"] and users["poe"]["second_factor"] is True
    assert users["pat"]["last_login"] is None and users["pat"]["disabled"] is False
    status, body = api.call("POST", "/api/v1/admin/users/pat/revoke-tokens", tokens["admin"], {})
    assert status == 200 and api.call("GET", "/api/v1/cases", tokens["prosecution"])[0] == 401
    assert api.call("GET", "/api/v1/admin/users", tokens["police"])[0] == 403
    listing = cli.ok("users", "list")
    assert re.search(r"^poe\tpolice\tactive\ttotp\tlast login 20", listing, re.M), listing


def test_a_burst_of_failed_logins_alerts_the_admins(embedded, people):
    api, _, _ = embedded
    before = metrics.LOGIN_BURSTS.labels("account")._value.get()
    for i in range(BURST_FAILURES):  # from many addresses: only the account sees the burst
        login(api, {"username": "poe", "password": "z" * 12}, f"192.0.2.{i + 1}")
    assert metrics.LOGIN_BURSTS.labels("account")._value.get() == before + 1
    login(api, {"username": "poe", "password": "z" * 12}, "192.0.2.200")
    assert metrics.LOGIN_BURSTS.labels("account")._value.get() == before + 1  # once a window


@pytest.mark.parametrize(
    "target",
    ["/%09/evil.example", "//evil.example", "/\\evil.example", "https://evil.example",
     "/%0a/evil.example", "%2F%2Fevil.example", "/%5Cevil.example"],
)  # fmt: skip
def test_login_never_redirects_to_another_site(embedded, people, target):
    api, _, _ = embedded
    _, _, page = send(api, "GET", f"/login?next={target}", None, {})
    code = totp.code_at(people["secret"], time.time())
    next_value = urllib.parse.unquote(target)
    form = urllib.parse.urlencode(
        {"username": "poe", "password": PASSWORD, "totp": code, "next": next_value}
    ).encode()
    status, headers, _ = send(api, "POST", "/login", form,
                              {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert status == 303 and headers["Location"] == "/console", headers
    assert "evil.example" not in page


def test_a_login_sent_from_another_site_is_refused(embedded, people):
    api, _, platform = embedded
    body = good_login(people["secret"])
    assert login(api, body, Origin="https://evil.example")[0] == 403
    assert login(api, body, **{"Sec-Fetch-Site": "cross-site"})[0] == 403
    # What an HTML form on another site can send: not JSON's media type.
    status, _, _ = send(api, "POST", "/api/v1/login", json.dumps(body).encode(),
                        {"Content-Type": "text/plain"})  # fmt: skip
    assert status == 415
    form = urllib.parse.urlencode(body).encode()
    status, headers, page = send(
        api, "POST", "/login", form,
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"},
    )  # fmt: skip
    assert status == 403 and "another site" in page and "Set-Cookie" not in headers
    # The same form from this site signs in.
    host = urllib.parse.urlparse(api.base_url).netloc
    status, headers, _ = send(
        api, "POST", "/login", form,
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://{host}"},
    )  # fmt: skip
    assert status == 303 and "cp247_session=" in headers.get("Set-Cookie", "")


def test_the_admins_page_lists_accounts_and_disables_one(embedded, people, tokens):
    api, _, platform = embedded
    identity = platform.apps["gateway"]
    uri = identity.enrol_second_factor("ada")
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    form = {"username": "ada", "password": PASSWORD, "totp": totp.code_at(secret, time.time())}
    status, headers, _ = send(
        api, "POST", "/login", urllib.parse.urlencode(form).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert status == 303, headers
    cookie = {"Cookie": re.search(r"cp247_session=[^;]+", headers["Set-Cookie"]).group(0)}
    status, _, page = send(api, "GET", "/oversight/accounts", None, cookie)
    assert status == 200 and "poe" in page and "Last sign-in" in page, page[:400]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    status, headers, _ = send(
        api, "POST", "/oversight/accounts/poe/disable",
        urllib.parse.urlencode({"csrf_token": csrf}).encode(),
        {**cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert status == 303 and headers["Location"] == "/oversight/accounts?note=account-disable"
    assert api.call("GET", "/api/v1/cases", tokens["police"])[0] == 401
    status, _, page = send(api, "GET", headers["Location"], None, cookie)
    assert "Account disabled" in page
    assert re.search(r"poe</td><td>police</td>.*?<td>disabled</td>", page, re.S), page
