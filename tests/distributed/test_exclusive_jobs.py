"""Jobs that act on the outside world (e-mail, webhooks) run in one replica at a time: two
processes on the same PostgreSQL database never both hold the same job."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import psycopg
import pytest
from distributed_cluster import PG_ADMIN

from cp247.bootstrap import make_application
from cp247.config import Settings

pytestmark = pytest.mark.distributed


@pytest.fixture
def database_url(tmp_path: Path):
    name = f"cp247_exclusive_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def replicas(tmp_path: Path, database_url: str):
    """Two notification processes' applications on one database."""
    settings = Settings(data_dir=tmp_path / "shared", database_url=database_url)
    pair = [make_application("notification", settings) for _ in range(2)]
    yield pair
    for app in pair:
        app.close()


def test_one_replica_at_a_time_holds_a_job(replicas):
    here, there = replicas
    with here.exclusive("deliver_messages") as mine:
        assert mine
        with there.exclusive("deliver_messages") as theirs:
            assert not theirs  # the other replica skips this round
        with there.exclusive("dispatch_something_else") as other_job:
            assert other_job  # other jobs are not held up
    with there.exclusive("deliver_messages") as theirs:
        assert theirs  # released when the job ended


def test_a_long_round_keeps_its_hold(replicas):
    """A delivery round slower than the store's idle-in-transaction timeout (5 s) keeps it."""
    here, there = replicas
    with here.exclusive("deliver_messages") as mine:
        assert mine
        time.sleep(6)  # slow SMTP
        with there.exclusive("deliver_messages") as theirs:
            assert not theirs
    with there.exclusive("deliver_messages") as theirs:
        assert theirs


def test_a_single_process_store_always_runs_its_jobs(tmp_path: Path):
    app = make_application("notification", Settings(data_dir=tmp_path / "data"))
    with app.exclusive("deliver_messages") as mine, app.exclusive("deliver_messages") as again:
        assert mine and again
