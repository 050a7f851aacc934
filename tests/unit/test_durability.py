"""Only the read model's commits stop waiting for the disk; every other store waits."""

from __future__ import annotations

from pathlib import Path

import pytest

from cp247.bootstrap import make_application
from cp247.config import Settings


def synchronous(app) -> int:
    """SQLite's synchronous level on a connection the store hands out (2 FULL, 1 NORMAL)."""
    with app.recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA synchronous")
        return cursor.fetchone()[0]


@pytest.mark.parametrize(("service", "level"), [("timeline", 1), ("intake", 2), ("gateway", 2)])
def test_only_the_timeline_commits_without_waiting_for_the_disk(tmp_path: Path, service, level):
    app = make_application(service, Settings(data_dir=tmp_path))
    try:
        assert synchronous(app) == level
    finally:
        app.close()
