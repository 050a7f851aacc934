"""``cp247 demo``: demo data seeded through the real CLI, checked through the HTTP API."""

from __future__ import annotations

import re
from pathlib import Path

from embedded_runner import running_embedded
from slice_driver import PASSWORD, Api, Cli, cli_env, preservation_request

from cp247.clock import utcnow

DEMO_PASSWORD = "demo-password-2026"  # as README and the command's summary publish it
DEMO_CASES = 10
INCOMING_REQUESTS = 10  # one a case, plus the Italian near duplicate; the NL one is outgoing


def login(api: Api, cli: Cli, username: str) -> str:
    code = cli.ok("demo", "code", username)
    assert re.fullmatch(r"[0-9]{6}", code), code
    body = {"username": username, "password": DEMO_PASSWORD, "totp": code}
    status, session = api.call("POST", "/api/v1/login", None, body)
    assert status == 200, session
    return session["token"]


def snapshot(api: Api, token: str) -> dict[str, int]:
    """Each case and the length of its timeline."""
    status, listed = api.call("GET", "/api/v1/cases", token)
    assert status == 200, listed
    lengths = {}
    for case in listed["cases"]:
        status, timeline = api.call("GET", f"/api/v1/cases/{case['case_id']}/timeline", token)
        assert status == 200, timeline
        lengths[case["case_id"]] = len(timeline["entries"])
    return lengths


def test_demo_seeds_the_interesting_states_and_a_second_run_duplicates_nothing(tmp_path: Path):
    data_dir = tmp_path / "data"
    summary = Cli(cli_env(), str(data_dir)).ok("demo")
    assert DEMO_PASSWORD in summary and "otpauth://totp/cp247:pat?" in summary

    with running_embedded(data_dir) as (api, cli, _):
        pat, poe = login(api, cli, "pat"), login(api, cli, "poe")
        oversight = login(api, cli, "ovi")  # oversight has a second factor too

        status, for_police = api.call("GET", "/api/v1/cases", poe)
        assert status == 200 and len(for_police["cases"]) == DEMO_CASES, for_police
        status, for_prosecution = api.call("GET", "/api/v1/cases", pat)
        assert status == 200 and for_prosecution == for_police

        orders, mla = [], []
        for case in for_police["cases"]:
            status, full = api.call("GET", f"/api/v1/cases/{case['case_id']}", pat)
            assert status == 200, full
            orders += [order["status"] for order in full["preservation_orders"]]
            status, listed = api.call("GET", f"/api/v1/cases/{case['case_id']}/mla", pat)
            assert status == 200, listed
            mla += [m["status"] for m in listed["mla"]]
        assert {"awaiting_approval", "acknowledged", "preserved", "unavailable"} <= set(orders)
        assert "executing" in mla

        status, alerts = api.call("GET", "/api/v1/alerts", poe)
        assert status == 200, alerts
        assert any(a["type"] == "emergency_disclosure" for a in alerts["alerts"]), alerts

        stats_path = f"/api/v1/stats?year={utcnow().year}"
        status, stats = api.call("GET", stats_path, oversight)
        assert status == 200, stats
        assert stats["requests"]["received"]["total"] == INCOMING_REQUESTS, stats
        assert stats["requests"]["sent"]["total"] == 1, stats

        before = snapshot(api, pat)
        again = cli.ok("demo")  # while the platform runs, as a newcomer might
        assert "0 new this run" in again and "duplicated nothing" in again
        assert snapshot(api, pat) == before  # same cases, not one timeline entry more
        assert api.call("GET", stats_path, oversight) == (200, stats)


def test_demo_code_serves_demo_users_only(tmp_path: Path):
    cli = Cli(cli_env(), str(tmp_path / "data"))
    cli.ok("users", "add", "--username", "real", "--role", "police", "--password", PASSWORD)
    cli.ok("users", "enrol-totp", "--username", "real")
    done = cli.run("demo", "code", "real")
    assert done.returncode == 1 and "not a demo user" in done.stderr, done
    assert done.stdout == ""


def test_demo_refuses_a_data_directory_with_other_cases(embedded, tokens):
    api, cli, _ = embedded
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("REAL-0001")
    )
    assert status == 201, created
    done = cli.run("demo")
    assert done.returncode == 2 and "did not make" in done.stderr, done
    status, listed = api.call("GET", "/api/v1/cases", tokens["police"])
    assert status == 200 and len(listed["cases"]) == 1, listed
