"""The audit's quick check verifies only what was recorded since its checkpoint (issue 18): its
cost follows the new records, not the history; what it has not seen yet it still checks in
full; a full re-verification is a background job that can be followed and outlives a restart.
"""

from __future__ import annotations

import sqlite3

import pytest
from slice_driver import Browser, edit_stored_event, full_verification, run_slice, wait_for

from services.timeline.verification import Verification


@pytest.fixture(autouse=True)
def no_daily_anchor(embedded):
    """The platform's sweep anchors (after a quick check) once a day; here the tests alone
    move the checkpoint, so each count of events read is theirs."""
    embedded[2].apps["timeline"].anchor_due = lambda: False


class CountingReader:
    """The producers' outboxes as the timeline reads them, counting the events read."""

    def __init__(self, platform):
        self.platform, self.events = platform, 0

    def __call__(self, source: str, start: int, limit: int) -> list[dict]:
        page = self.platform.read_outbox(source, start, limit)
        self.events += len(page)
        return page


def settled(platform) -> dict[str, int]:
    """Every event applied everywhere: the timeline's position in each producer."""
    timeline = platform.apps["timeline"]
    while True:
        platform.deliver()
        before = {s: timeline.position(s) for s in timeline.upstreams}
        if not platform.deliver():
            return before


def quick_check(platform) -> tuple[dict, int]:
    reader = CountingReader(platform)
    report = platform.apps["timeline"].audit_verify(reader)
    return report, reader.events


def test_the_quick_check_reads_only_what_was_recorded_since_its_checkpoint(embedded, tokens):
    api, _, platform = embedded
    for n in range(6):
        run_slice(api, tokens, f"HISTORY-{n}")
    positions = settled(platform)
    first, read_first = quick_check(platform)
    assert first["ok"], first
    assert read_first == sum(positions.values())  # no checkpoint yet: everything once
    assert first["verified_through"]["positions"] == positions

    again, read_again = quick_check(platform)  # nothing new: nothing read
    assert again["ok"] and read_again == 0
    assert (again["entries"], again["head_hash"]) == (first["entries"], first["head_hash"])

    run_slice(api, tokens, "NEW-1")
    now = settled(platform)
    later, read_later = quick_check(platform)
    new_events = sum(now.values()) - sum(positions.values())
    assert later["ok"], later
    assert read_later == new_events  # the increment only, not the history
    assert read_later * 4 < read_first  # six slices of history, one new
    assert later["entries"] > first["entries"] and later["head_hash"] != first["head_hash"]
    assert later["verified_through"]["positions"] == now


def test_an_entry_altered_after_the_checkpoint_is_found_by_the_quick_check(embedded, tokens):
    api, _, platform = embedded
    run_slice(api, tokens, "BEFORE-1")
    settled(platform)
    assert quick_check(platform)[0]["ok"]
    database = platform.settings.data_dir / "timeline.sqlite"
    with sqlite3.connect(database) as conn:
        (last,) = conn.execute("SELECT max(rowid) FROM stored_events").fetchone()
    result = run_slice(api, tokens, "AFTER-1")
    settled(platform)

    # Someone with the database and the key edits the new case's receipt entry.
    edit_stored_event(
        database, platform.settings.event_store_key(),
        b"Receipt to the requesting CP", b"Receipt IGNORED here", after_rowid=last,
    )  # fmt: skip

    status, report = api.call("GET", "/api/v1/audit/verify", tokens["admin"])
    assert status == 200 and report["ok"] is False, report
    assert report["first_broken"]["event"] == "ReceiptAcknowledged"
    assert report["first_broken"]["problem"] == "altered"
    assert result["case_id"] not in str(report["first_broken"])
    # The checkpoint stays where it was: the next check looks at the same records again.
    again = api.call("GET", "/api/v1/audit/verify", tokens["admin"])[1]
    assert again["ok"] is False and again["verified_through"] == report["verified_through"]


def test_a_full_verification_is_followed_and_taken_up_again_after_a_restart(embedded, tokens):
    api, cli, platform = embedded
    run_slice(api, tokens, "FULL-1")
    settled(platform)
    assert api.call("POST", "/api/v1/audit/verifications", tokens["police"])[0] == 403
    for wrong in ("00000000-0000-4000-8000-000000000000", "not-an-id"):
        status, answer = api.call("GET", f"/api/v1/audit/verifications/{wrong}", tokens["admin"])
        assert status == 404, answer

    job = full_verification(api, tokens["admin"])
    assert job["result"]["ok"] and job["progress"]["percent"] == 100, job
    assert job["progress"]["done"] == job["progress"]["total"] > 0
    assert job["requested_by"] == "ada" and job["finished_at"] >= job["requested_at"]

    # A job whose runner stopped mid-way (its last progress minutes old) is taken up again.
    timeline = platform.apps["timeline"]
    stranded = Verification(requested_by="admin", name_cases=True, at="2026-12-01T09:00:00Z")
    stranded.progressed(done=3, total=10, at="2026-12-01T09:00:02Z")
    timeline.save(stranded)
    assert timeline.verification(str(stranded.id))["status"] == "running"
    timeline.run_verifications()  # or the platform's own runner, whichever comes first

    def finished() -> dict | None:
        view = timeline.verification(str(stranded.id))
        return view if view["status"] == "done" else None

    view = wait_for(finished, what="the stranded verification taken up again")
    assert view["result"]["ok"] and view["progress"]["percent"] == 100, view
    assert view["finished_at"] > "2026-12-01T09:00:02Z"


def test_the_oversight_page_starts_a_full_re_verification_and_follows_it(embedded, tokens):
    api, _, platform = embedded
    run_slice(api, tokens, "PAGE-1")
    settled(platform)
    browser = Browser(api.base_url)
    browser.cookie = tokens["admin"]
    status, _, page = browser.go("GET", "/oversight/audit")
    assert status == 200 and "Since the last check" in page and "entries verified" in page, page
    status, headers, _ = browser.go(
        "POST", "/oversight/audit/verifications", {"csrf_token": browser.csrf(page)}
    )
    assert status == 303 and headers["Location"].startswith("/oversight/audit?job="), headers

    def finished() -> str | None:
        status, _, shown = browser.go("GET", headers["Location"])
        assert status == 200, shown
        assert "Running" in shown or "Waiting" in shown or "Finished" in shown, shown
        return shown if "Finished" in shown else None

    shown = wait_for(finished, what="the full re-verification on the page")
    assert shown.count("entries verified") == 2 and 'http-equiv="refresh"' not in shown
