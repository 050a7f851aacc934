"""When the event store cannot be reached, the gateway says so at once in a form a client can
act on (503 with Retry-After), records nothing half-way, and works again afterwards."""

from __future__ import annotations

import sqlite3

from cp247.samples import preservation_request


def test_a_locked_store_is_a_503_with_retry_after_and_nothing_is_lost(embedded, tokens):
    api, _, platform = embedded
    database = platform.settings.data_dir / "intake.sqlite"
    blocker = sqlite3.connect(database, timeout=1, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the database
    try:
        status, body, headers = api.call_with_headers(
            "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("LOCKED-1")
        )
        assert status == 503, body
        assert body["error"] == "service_unavailable" and "nothing was recorded" in body["message"]
        assert headers["Retry-After"] == "5"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("LOCKED-1")
    )
    assert status == 201, created  # the retry is a new request, not a duplicate of a ghost
