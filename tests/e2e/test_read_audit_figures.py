"""GET /api/v1/audit/read-figures: oversight sees who read how much, outside their duty hours
and of cases they have no part in, as figures only (issue 18, item 4)."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from embedded_runner import running_embedded
from slice_driver import PASSWORD, Browser, preservation_request, wait_for

from cp247.clock import iso

# Police: poe has every shift, but an override gives pia the duty from an hour ago to two
# hours on; prosecution's roster lists only its desk, not pat.
ROSTER = """
police:
  time_zone: Europe/Bucharest
  people:
    poe: {{name: Poe, email: poe@police.example, phone: "+40700000001", languages: [en]}}
    pia-rota: {{name: Pia, email: pia@police.example, phone: "+40700000002", languages: [en],
                username: pia}}
  shifts:
    - {{days: [mon, tue, wed, thu, fri, sat, sun], start: "00:00", end: "00:00", person: poe}}
  overrides:
    - {{start: "{start}", end: "{end}", person: pia-rota}}
  head_of_unit: poe
prosecution:
  time_zone: Europe/Bucharest
  people:
    desk: {{name: Desk, email: desk@pros.example, phone: "+40700000003", languages: [en]}}
  shifts:
    - {{days: [mon, tue, wed, thu, fri, sat, sun], start: "00:00", end: "00:00", person: desk}}
  head_of_unit: desk
"""


def summed(report: dict, key: str) -> dict[str, int | None]:
    """Per user over the period's months (a read at midnight of the 1st starts a new row)."""
    totals: dict[str, int | None] = {}
    for row in report["users"]:
        value = row[key]
        before = totals.get(row["username"])
        totals[row["username"]] = None if value is None else (before or 0) + value
    return totals


def test_read_figures_count_reads_outside_duty_and_of_cases_without_part(tmp_path, monkeypatch):
    now = datetime.now(UTC)
    roster = ROSTER.format(start=iso(now - timedelta(hours=1)), end=iso(now + timedelta(hours=2)))
    (tmp_path / "roster.yaml").write_text(roster)
    monkeypatch.setenv("CP247_ROSTER", str(tmp_path / "roster.yaml"))
    first_month = now.strftime("%Y-%m")
    with running_embedded(tmp_path / "data") as (api, _, platform):
        identity = platform.apps["gateway"]
        platform.apps["isp_liaison"].register_provider("telco-a", "Telco A", "RO")
        people = (("poe", "police"), ("pia", "police"), ("pat", "prosecution"),
                  ("ovi", "oversight"), ("ada", "admin"))  # fmt: skip
        for username, role in people:
            identity.add_user(username, role, PASSWORD)
        token = {name: identity.issue_token(username=name) for name, _ in people}

        _, ours = api.call("POST", "/api/v1/requests", token["pat"], preservation_request("RF-1"))
        _, his = api.call("POST", "/api/v1/requests", token["poe"], preservation_request("RF-2"))
        case_a, case_b = ours["case_id"], his["case_id"]
        # Reads once both timelines know who registered what ("part" is asked of them).
        timeline = platform.apps["timeline"]
        for case_id in (case_a, case_b):
            wait_for(lambda c=case_id: timeline.participants([c]), what="the case's timeline")
        reads = [
            ("pia", f"/api/v1/cases/{case_a}"),
            ("pia", f"/api/v1/cases/{case_a}/timeline"),
            ("pia", f"/api/v1/requests/{ours['request_id']}"),  # its case from the answer
            ("poe", f"/api/v1/cases/{case_b}"),  # his own case
            ("poe", f"/api/v1/cases/{case_a}"),
            ("poe", "/api/v1/work"),  # a list: a read, of no case
            ("pat", f"/api/v1/cases/{case_a}"),
        ]
        for username, path in reads:
            assert api.call("GET", path, token[username])[0] == 200, path
        assert api.call("GET", f"/api/v1/cases/{case_a}", token["ovi"])[0] == 403  # not a read

        last_month = datetime.now(UTC).strftime("%Y-%m")
        path = f"/api/v1/audit/read-figures?from={first_month}&to={last_month}"
        status, report = api.call("GET", path, token["ovi"])
        assert status == 200, report
        assert report["duty_roster"] is True
        assert summed(report, "reads") == Counter(username for username, _ in reads)
        # pia had the duty (the override), poe did not; pat is on no roster.
        assert summed(report, "outside_duty_hours") == {"pia": 0, "poe": 3, "pat": None}
        # pat registered case A, poe case B: pia has no part in A, poe none in A.
        assert summed(report, "of_cases_without_part") == {"pia": 3, "poe": 1, "pat": 0}
        assert report["totals"] == {"reads": 7, "outside_duty_hours": 3,
                                    "of_cases_without_part": 4}  # fmt: skip
        assert {row["role"] for row in report["users"]} == {"police", "prosecution"}
        text = json.dumps(report)
        assert case_a not in text and case_b not in text  # figures, never a case

        # Admins see it too; a CP officer does not; the period is checked.
        assert api.call("GET", path, token["ada"])[0] == 200
        assert api.call("GET", path, token["poe"])[0] == 403
        assert api.call("GET", "/api/v1/audit/read-figures?from=2026-13", token["ovi"])[0] == 422
        empty = api.call("GET", "/api/v1/audit/read-figures?from=2001-01&to=2001-02", token["ovi"])
        assert empty == (200, {"from": "2001-01", "to": "2001-02", "duty_roster": True,
                               "users": [], "totals": {"reads": 0, "outside_duty_hours": 0,
                                                       "of_cases_without_part": 0}})  # fmt: skip


def test_oversight_page_shows_the_read_figures_and_says_when_a_period_is_refused(embedded, tokens):
    api, _, platform = embedded
    platform.apps["gateway"].add_user("ovi", "oversight", PASSWORD)
    _, case = api.call("POST", "/api/v1/requests", tokens["prosecution"],
                       preservation_request("RF-3"))  # fmt: skip
    wait_for(lambda: platform.apps["timeline"].participants([case["case_id"]]), what="timeline")
    assert api.call("GET", f"/api/v1/cases/{case['case_id']}", tokens["police"])[0] == 200
    browser = Browser(api.base_url)
    browser.cookie = platform.apps["gateway"].issue_token(username="ovi")
    status, _, page = browser.go("GET", "/oversight/reads")
    assert status == 200, page
    row = re.search(r"<td>poe</td><td>police</td><td>(\d+)</td>\s*<td>(\d+)</td>"
                    r"<td>([^<]+)</td>\s*<td>([^<]+)</td>", page)  # fmt: skip
    assert row and row.groups() == ("1", "1", "not on the roster", "1"), page
    assert case["case_id"] not in page
    status, _, page = browser.go("GET", "/oversight/reads?from=2026-13")
    assert status == 200 and "Showing this month instead" in page and "<td>poe</td>" in page
    status, _, page = browser.go("GET", "/oversight")
    assert 'href="/oversight/reads"' in page
