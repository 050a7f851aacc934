"""Events applied in batches: one transaction for many, the same outcome as one at a time,
and never an event applied twice when a replica got to part of a batch first.

Real applications on the library's in-memory and SQLite stores; no broker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from slice_driver import preservation_request

from cp247.runtime.inbox import Inbox
from events import Message, registry
from services.intake.app import IntakeApplication
from services.notification.app import NotificationApplication
from services.timeline.app import TimelineApplication

ACTOR = {"username": "pat", "role": "prosecution"}
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def no_letters(body: Any, reason: str, consumer: str) -> None:
    raise AssertionError(f"dead-lettered: {reason}")


def receipts(notification: NotificationApplication) -> list[str]:
    return [
        m["originator_id"]
        for m in notification.outbox(1, 1000)
        if m.get("event") == "ReceiptAcknowledged"
    ]


def registered(intake: IntakeApplication, count: int) -> list[Message]:
    for n in range(count):
        intake.register_request(preservation_request(f"REF-{n}"), ACTOR)
    return [registry.decode(body) for body in intake.outbox(1, 1000)]


def counting_commits(app: Any) -> list[int]:
    """Calls of the recorder's insert (one per transaction), recorded as they happen."""
    calls: list[int] = []
    insert = app.recorder.insert_events

    def spy(stored_events: Any, **kwargs: Any) -> Any:
        calls.append(len(stored_events))
        return insert(stored_events, **kwargs)

    app.recorder.insert_events = spy
    return calls


def test_offered_messages_are_applied_in_order_in_one_transaction() -> None:
    intake, notification = IntakeApplication(env=POPO), NotificationApplication(env=POPO)
    messages = registered(intake, 3)
    inbox = Inbox(notification, "intake", intake.outbox, no_letters)
    commits = counting_commits(notification)
    for message in reversed(messages):  # pushed copies may arrive in any order
        inbox.offer(message)
    assert inbox.deliver_offered() == len(messages)
    assert notification.position("intake") == messages[-1].notification_id
    assert len(receipts(notification)) == 3
    assert len(commits) == 1
    assert inbox.deliver_offered() == 0  # nothing is kept once applied


def test_a_gap_before_the_offered_messages_is_pulled_first() -> None:
    intake, notification = IntakeApplication(env=POPO), NotificationApplication(env=POPO)
    messages = registered(intake, 3)
    inbox = Inbox(notification, "intake", intake.outbox, no_letters)
    inbox.offer(messages[-1])  # the others were never pushed
    assert inbox.deliver_offered() == len(messages)
    assert notification.position("intake") == messages[-1].notification_id
    assert len(receipts(notification)) == 3


def test_a_batch_gives_the_timeline_one_at_a_time_gives() -> None:
    intake = IntakeApplication(env=POPO)
    messages = registered(intake, 2)
    batched, single = TimelineApplication(env=POPO), TimelineApplication(env=POPO)
    commits = counting_commits(batched)
    assert batched.process_batch(messages) == [True] * len(messages)
    for message in messages:
        assert single.process(message)
    assert len(commits) == 1
    case_ids = {m.payload["case_id"] for m in messages if m.payload.get("case_id")}
    assert len(case_ids) == 2
    for case_id in case_ids:
        mine, theirs = batched.case_timeline(case_id), single.case_timeline(case_id)
        assert len(mine["entries"]) > 1  # several events of one case in one batch
        assert mine == theirs


def test_a_batch_whose_start_a_replica_applied_is_not_applied_twice(tmp_path: Path) -> None:
    intake = IntakeApplication(env=POPO)
    messages = registered(intake, 2)
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "n.db")}
    here, there = NotificationApplication(env=env), NotificationApplication(env=env)
    assert there.process(messages[0])  # the other replica got to the first one
    outcomes = here.process_batch(messages)
    assert outcomes == [False] + [True] * (len(messages) - 1)
    assert here.position("intake") == messages[-1].notification_id
    assert len(receipts(here)) == len(set(receipts(here))) == 2


def test_a_policy_failing_in_a_batch_applies_what_came_before_it() -> None:
    intake, notification = IntakeApplication(env=POPO), NotificationApplication(env=POPO)
    messages = registered(intake, 2)
    failing = messages[-1]
    apply_policy = notification.apply_policy

    def flaky(message: Message, processing: Any) -> None:
        if message is failing:
            raise RuntimeError("policy failed")
        apply_policy(message, processing)

    notification.apply_policy = flaky
    with pytest.raises(RuntimeError):
        notification.process_batch(messages)
    assert notification.position("intake") == messages[-2].notification_id
    notification.apply_policy = apply_policy
    assert notification.process_batch([failing]) == [True]
    assert len(receipts(notification)) == 2


def test_after_a_failed_batch_each_event_starts_from_the_store_not_the_batch(tmp_path) -> None:
    intake = IntakeApplication(env=POPO)
    messages = registered(intake, 1)  # several events of one case
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "t.db")}
    here, there = TimelineApplication(env=env), TimelineApplication(env=env)
    assert there.process(messages[0])  # the batch below fails on it and goes one by one
    assert here.process_batch(messages) == [False] + [True] * (len(messages) - 1)
    alone = TimelineApplication(env=POPO)
    for message in messages:
        alone.process(message)
    case_id = messages[0].payload["case_id"]
    assert here.case_timeline(case_id) == alone.case_timeline(case_id)


def test_each_copy_of_a_redelivered_event_is_counted_as_such() -> None:
    from cp247 import metrics

    intake, notification = IntakeApplication(env=POPO), NotificationApplication(env=POPO)
    messages = registered(intake, 1)
    inbox = Inbox(notification, "intake", intake.outbox, no_letters)
    for message in messages:
        inbox.offer(message)
    inbox.deliver_offered()
    counter = metrics.EVENTS_DUPLICATE.labels("notification", "intake")
    before = counter._value.get()
    for _ in range(2):
        inbox.offer(messages[0])
    assert inbox.deliver_offered() == 0
    assert counter._value.get() == before + 2


def test_a_batch_that_met_a_concurrent_writer_is_decided_again_as_a_batch() -> None:
    from eventsourcing.persistence import IntegrityError

    intake, timeline = IntakeApplication(env=POPO), TimelineApplication(env=POPO)
    messages = registered(intake, 2)
    record, calls = timeline._record, []

    def conflicting_once(processing: Any) -> Any:
        calls.append(len(processing.events))
        if len(calls) == 1:
            raise IntegrityError("another writer changed the yearly figures")
        return record(processing)

    timeline._record = conflicting_once
    assert timeline.process_batch(messages) == [True] * len(messages)
    assert len(calls) == 2 and calls[0] == calls[1] > len(messages)  # the whole batch, twice
    assert timeline.position("intake") == messages[-1].notification_id
