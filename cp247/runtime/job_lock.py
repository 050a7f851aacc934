"""One replica at a time: a job (the outbox relay, webhook and e-mail delivery, signing order
documents) runs in one process of a service while the others skip it.

On PostgreSQL the lock is a session advisory lock, taken on a connection of its own rather
than one of the store's pool: a job holding a pooled connection for its lock while it waited
for another to do its work starved the pool once three jobs ran at once (each held one and
waited for a second). Advisory locks are re-entrant within a session, so the jobs of one
process are told apart by a lock in the process first. SQLite stores belong to one process:
there only the process lock counts.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


def postgres_datastore(recorder: Any) -> Any | None:
    """The recorder's PostgreSQL datastore, or None (SQLite, in memory)."""
    from eventsourcing.postgres import PostgresDatastore  # only where PostgreSQL is used

    datastore = getattr(recorder, "datastore", None)
    return datastore if isinstance(datastore, PostgresDatastore) else None


class JobLocks:
    def __init__(self, namespace: str, datastore: Any | None):
        self.namespace = namespace
        self.datastore = datastore  # a PostgresDatastore, or None
        self._local: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._session: Any = None
        self._session_lock = threading.Lock()

    @contextmanager
    def hold(self, job: str) -> Iterator[bool]:
        """Whether this process runs ``job`` now; released when the block ends (or the process
        dies: the session goes with it)."""
        local = self._local[job]
        if not local.acquire(blocking=False):
            yield False  # another thread of this process is at it
            return
        try:
            if self.datastore is None:
                yield True
                return
            key = self._key(job)
            mine = bool(self._execute("SELECT pg_try_advisory_lock(%s)", key))
            try:
                yield mine
            finally:
                if mine:
                    self._release(key)
        finally:
            local.release()

    def close(self) -> None:
        with self._session_lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def _key(self, job: str) -> int:
        digest = hashlib.sha256(f"cp247:{self.namespace}:{job}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _release(self, key: int) -> None:
        try:
            self._execute("SELECT pg_advisory_unlock(%s)", key)
        except Exception as exc:  # the session is gone, and its locks with it
            log.warning("advisory unlock failed (%s); the lock session is renewed", exc)

    def _execute(self, sql: str, key: int) -> Any:
        import psycopg  # only where PostgreSQL is used

        with self._session_lock:  # one statement at a time on the shared session
            if self._session is None or self._session.closed or self._session.broken:
                kwargs = {k: v for k, v in self.datastore.pool.kwargs.items() if k != "row_factory"}
                self._session = psycopg.connect(autocommit=True, connect_timeout=5, **kwargs)
            try:
                return self._session.execute(sql, (key,)).fetchone()[0]
            except psycopg.Error:
                self._session.close()
                self._session = None
                raise
