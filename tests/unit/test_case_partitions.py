"""Partitions by case id inside one process (ADR 014): two workers never apply events of one
case at the same time, workers on other cases do not wait, and overlapping batches cannot
wait on each other in a circle."""

from __future__ import annotations

import random
import threading

from slice_driver import preservation_request

from cp247.runtime.case_partitions import CasePartitions
from cp247.runtime.inbox import Inbox
from events import registry
from services.intake.app import IntakeApplication
from services.notification.app import NotificationApplication

ACTOR = {"username": "pat", "role": "prosecution"}
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def in_thread(work) -> threading.Event:
    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done


def holding(partitions: CasePartitions, cases: list[str]) -> None:
    with partitions.held(cases):
        pass


def two_cases_apart(partitions: CasePartitions) -> tuple[str, str]:
    names = (f"CASE-{n}" for n in range(1000))
    first = next(names)
    other = next(n for n in names if partitions.of([n]) != partitions.of([first]))
    return first, other


def test_a_batch_of_a_case_another_worker_holds_waits_for_it() -> None:
    intake, notification = IntakeApplication(env=POPO), NotificationApplication(env=POPO)
    for n in range(2):
        intake.register_request(
            preservation_request(f"REF-P{n}"), {"username": "pat", "role": "prosecution"}
        )
    messages = [registry.decode(body) for body in intake.outbox(1, 1000)]
    cases = {m.payload["case_id"] for m in messages if "case_id" in m.payload}
    inbox = Inbox(notification, "intake", intake.outbox, lambda *a: None)
    with notification.case_partitions.held(cases):  # another worker is applying these cases
        applied = in_thread(inbox.catch_up)
        assert not applied.wait(0.3)
        assert notification.position("intake") == 0
    assert applied.wait(30)
    assert notification.position("intake") == messages[-1].notification_id


def test_workers_on_other_cases_do_not_wait() -> None:
    partitions = CasePartitions()
    mine, theirs = two_cases_apart(partitions)
    with partitions.held([mine]):
        assert in_thread(lambda: holding(partitions, [theirs])).wait(10)


def test_no_case_holds_nothing() -> None:
    partitions = CasePartitions(count=1)
    with partitions.held([]):
        assert in_thread(lambda: holding(partitions, [])).wait(10)


def test_overlapping_batches_never_wait_in_a_circle() -> None:
    partitions = CasePartitions(count=8)
    cases = [f"CASE-{n}" for n in range(40)]
    rounds = 200

    def worker(seed: int) -> None:
        pick = random.Random(seed)
        for _ in range(rounds):
            holding(partitions, pick.sample(cases, 6))

    finished = [in_thread(lambda s=seed: worker(s)) for seed in range(6)]
    assert all(done.wait(60) for done in finished)
