"""Every use of eventsourcing 9.5's private internals, in one module, each with a test.

cp247 needs three things the library has no public setting for. Each reaches into a private
name; ``tests/unit/test_eventsourcing_internals.py`` checks that the name is still there with
the shape used here (an upgrade of the library fails there, loudly, not in production) and
that the patch does what it says.

1. :func:`commit_without_waiting_for_disk`: every store waits for the disk on commit (SQLite
   ``synchronous=FULL`` in WAL mode: one fsync per commit) except a read model's: its
   tracking records commit with its events, so a commit lost to a power failure is only a
   set of upstream events applied again from the producers' stores (``synchronous=NORMAL``:
   the store stays consistent, the last commits may roll back). Measured: about 2 ms per
   commit on this machine's disk, and the timeline makes 40% of all commits. Uses the pool's
   ``_create_connection``, ``_pool`` and each connection's ``_sqlite_conn``.
2. :func:`record_batch_start_first`: a batch of upstream events records the position of its
   first event in the same transaction as its events and last position, so a batch that
   another replica began applying fails as a whole. Uses the recorder's ``_insert_events``
   and ``_insert_tracking`` (in memory: ``_assert_tracking_uniqueness``).
3. :func:`insert_in_one_transaction`: a projection rebuild records a batch's events,
   snapshots and several upstream positions in one SQLite transaction. Uses
   ``_insert_events`` and ``_insert_tracking``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.popo import POPORecorder
from eventsourcing.sqlite import SQLiteConnectionPool, SQLiteProcessRecorder

NO_WAIT = "PRAGMA synchronous=NORMAL"
BATCH_START = "cp247_batch_start"  # the keyword that carries a batch's first position


def commit_without_waiting_for_disk(recorder: Any) -> None:
    """For a read model's recorder. PostgreSQL is left as it is (it groups the commits of
    concurrent writers into one flush already)."""
    pool = getattr(getattr(recorder, "datastore", None), "pool", None)
    if not isinstance(pool, SQLiteConnectionPool):
        return
    # Every connection the pool makes, and those it already holds, get the pragma.
    create = pool._create_connection

    def create_without_waiting() -> Any:
        connection = create()
        connection._sqlite_conn.execute(NO_WAIT)
        return connection

    pool._create_connection = create_without_waiting  # type: ignore[method-assign]
    for connection in list(pool._pool):
        connection._sqlite_conn.execute(NO_WAIT)


def record_batch_start_first(recorder: Any) -> None:
    """Let ``insert_events(..., cp247_batch_start=Tracking(...))`` record that position
    first, in the same transaction (a uniqueness violation if it was recorded before)."""
    insert_events: Callable[..., Any] = recorder._insert_events
    if isinstance(recorder, POPORecorder):  # in memory (unit tests): no cursor

        def insert_in_memory(stored_events: Any, **kwargs: Any) -> Any:
            start = kwargs.pop(BATCH_START, None)
            if start is not None:
                recorder._assert_tracking_uniqueness(start)
            return insert_events(stored_events, **kwargs)

        recorder._insert_events = insert_in_memory
        return

    def insert_in_transaction(cursor: Any, stored_events: Any, **kwargs: Any) -> Any:
        start = kwargs.pop(BATCH_START, None)
        if start is not None:
            recorder._insert_tracking(cursor, start)
        return insert_events(cursor, stored_events, **kwargs)

    recorder._insert_events = insert_in_transaction


def insert_in_one_transaction(
    recorder: Any,
    snapshot_recorder: Any,
    stored: Sequence[StoredEvent],
    snapshots: Sequence[StoredEvent],
    positions: Sequence[Tracking],
) -> bool:
    """Events, snapshots and positions in one transaction, where the stores allow it (both
    recorders on one SQLite datastore); False (nothing recorded) where they do not."""
    if not isinstance(recorder, SQLiteProcessRecorder) or (
        snapshot_recorder is not None
        and getattr(snapshot_recorder, "datastore", None) is not recorder.datastore
    ):
        return False
    with recorder.datastore.transaction(commit=True) as cursor:
        recorder._insert_events(cursor, stored)
        if snapshots and snapshot_recorder is not None:
            snapshot_recorder._insert_events(cursor, snapshots)
        for tracking in positions:
            recorder._insert_tracking(cursor, tracking)
    return True
