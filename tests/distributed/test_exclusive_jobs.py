"""Jobs that act on the outside world (e-mail, webhooks) run in one replica at a time: two
processes on the same PostgreSQL database never both hold the same job, nor two threads of
one process; the lock holds no connection of the store's pool, and a lock session cut by the
database is renewed (cp247/runtime/job_lock.py)."""

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
        with here.exclusive("deliver_messages") as same_process:
            assert not same_process  # nor a second thread of the same process
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


def test_a_lock_session_cut_by_the_database_is_renewed(replicas):
    here, there = replicas
    with here.exclusive("deliver_messages") as mine:
        assert mine
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            pid = here._job_locks._session.info.backend_pid
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # The session is gone, and its lock with it: the other replica may take the job now.
        with there.exclusive("deliver_messages") as theirs:
            assert theirs
    with here.exclusive("deliver_messages") as again:  # a new session
        assert again


def test_a_single_process_store_runs_each_job_once_at_a_time(tmp_path: Path):
    app = make_application("notification", Settings(data_dir=tmp_path / "data"))
    with app.exclusive("deliver_messages") as mine, app.exclusive("deliver_messages") as again:
        assert mine and not again
    with app.exclusive("deliver_messages") as later:
        assert later
