"""One test per use of eventsourcing's private internals (cp247/runtime/eventsourcing_internals.py):
the private names are still there in the shape used, and each patch does what it says. An
upgrade of the library that moves one fails here first."""

from __future__ import annotations

import inspect
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent, Tracking
from eventsourcing.popo import POPOProcessRecorder
from eventsourcing.sqlite import SQLiteConnectionPool, SQLiteDatastore, SQLiteProcessRecorder

from cp247.runtime import eventsourcing_internals as internals


def sqlite_recorder(path: Path) -> SQLiteProcessRecorder:
    recorder = SQLiteProcessRecorder(SQLiteDatastore(str(path)))
    recorder.create_table()
    return recorder


def stored(version: int = 1) -> StoredEvent:
    return StoredEvent(uuid4(), version, "tests:Event", b"{}")


def synchronous(recorder: SQLiteProcessRecorder) -> int:
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA synchronous")
        return cursor.fetchone()[0]


def test_the_private_names_used_are_there_in_that_shape():
    assert "_create_connection" in vars(SQLiteConnectionPool)
    insert = list(inspect.signature(SQLiteProcessRecorder._insert_events).parameters)
    assert insert[:3] == ["self", "c", "stored_events"] and insert[-1] == "kwargs"
    track = list(inspect.signature(SQLiteProcessRecorder._insert_tracking).parameters)
    assert track == ["self", "c", "tracking"]
    assert hasattr(POPOProcessRecorder, "_assert_tracking_uniqueness")


def test_a_read_model_commits_without_waiting_for_the_disk(tmp_path: Path):
    recorder = sqlite_recorder(tmp_path / "store.sqlite")
    assert synchronous(recorder) == 2  # FULL, the library's default
    internals.commit_without_waiting_for_disk(recorder)
    assert synchronous(recorder) == 1  # NORMAL, on held and new connections alike
    internals.commit_without_waiting_for_disk(POPOProcessRecorder())  # others: untouched


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_a_batch_whose_start_was_recorded_before_fails_whole(tmp_path: Path, kind: str):
    recorder = (
        sqlite_recorder(tmp_path / "s.sqlite") if kind == "sqlite" else (POPOProcessRecorder())
    )
    internals.record_batch_start_first(recorder)
    start = {internals.BATCH_START: Tracking("intake", 1)}
    recorder.insert_events([stored()], tracking=Tracking("intake", 3), **start)
    assert recorder.max_tracking_id("intake") == 3
    # Another replica recorded position 4 alone; a batch 4..6 must not be recorded.
    recorder.insert_events([], tracking=Tracking("intake", 4))
    event = stored()
    with pytest.raises(IntegrityError):
        recorder.insert_events(
            [event],
            tracking=Tracking("intake", 6),
            **{internals.BATCH_START: Tracking("intake", 4)},
        )
    assert recorder.max_tracking_id("intake") == 4
    assert recorder.select_events(event.originator_id) == []


def test_a_rebuild_batch_with_positions_of_several_upstreams_is_one_transaction(tmp_path: Path):
    recorder = sqlite_recorder(tmp_path / "r.sqlite")
    positions = [Tracking("intake", 5), Tracking("mla", 2)]
    assert internals.insert_in_one_transaction(recorder, None, [stored()], [], positions)
    assert (recorder.max_tracking_id("intake"), recorder.max_tracking_id("mla")) == (5, 2)
    # A position recorded before: nothing of the batch is kept.
    event = stored()
    with pytest.raises(IntegrityError):
        internals.insert_in_one_transaction(
            recorder, None, [event], [], [Tracking("intake", 7), Tracking("mla", 2)]
        )
    assert recorder.select_events(event.originator_id) == []
    assert not internals.insert_in_one_transaction(POPOProcessRecorder(), None, [], [], [])
