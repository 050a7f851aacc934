"""Scale-out: the broker set up from infra/rabbitmq/definitions.json, every consumer queue a
quorum queue that all replicas of its service consume from, and the same outcome with one
process per service as with two (the ``cluster`` fixture runs both set-ups)."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from queue import Empty
from typing import NamedTuple

import pytest
from distributed_cluster import (
    Cluster,
    definitions_for,
    event_spy,
    queues,
    register,
    timeline_events,
)
from kombu import Connection
from slice_driver import SLICE_EVENTS, preservation_request, wait_for

from cp247.runtime.inbox import unbatched
from services.catalogue import consumers, producers

pytestmark = pytest.mark.distributed

CPS = ("police", "prosecution")
ONCE = (*sorted(SLICE_EVENTS), "OrderAcknowledged")


def test_consumer_queues_are_the_quorum_queues_of_the_definitions(cluster: Cluster):
    declared = {q["name"] for q in definitions_for(cluster.vhost)["queues"]}

    def table() -> dict[str, dict[str, str]]:
        return {q["name"]: q for q in queues(cluster.vhost, "type", "consumers", "policy")}

    def processes(queue: str) -> int:
        """How many processes of the consuming service run ("evt-<source>-#--<service>.<m>";
        another test of the package may have started a replica of one service)."""
        service = queue.split("--", 1)[1].split(".", 1)[0]
        return max(cluster.replicas, len(cluster.processes_of(service)))

    def every_replica_consumes() -> bool:
        found = table()
        return all(
            int(q["consumers"]) == processes(name)
            for name, q in found.items()
            if name.startswith("evt-")
        )

    try:
        wait_for(every_replica_consumes, timeout=30, pause=0.5, what="the consumers")
    except AssertionError:
        raise AssertionError(f"not one consumer a process on every queue: {table()}") from None
    found = table()
    consumer_queues = {name for name in found if name.startswith("evt-")}
    # Declared by the definitions or by the services alone: the same names either way.
    assert consumer_queues == {name for name in declared if name.startswith("evt-")}
    if cluster.definitions:
        assert {found[name]["policy"] for name in consumer_queues} == {"cp247-consumers"}
        assert "cp247.dead-letter" in found
    # (Without the definitions, services declare the dead-letter queue when they first use it.)
    for name in consumer_queues | ({"cp247.dead-letter"} & set(found)):
        assert found[name]["type"] == "quorum", found[name]


def test_each_request_sent_by_both_cps_ends_in_one_case_one_order_one_acknowledgement(
    cluster: Cluster,
):
    api, tokens = cluster.api, cluster.tokens
    references = [f"US-SCALE-{cluster.replicas}-{n}" for n in range(4)]
    bodies = {}
    for reference in references:
        bodies[reference] = preservation_request(reference)
        bodies[reference]["requesting_authority"]["email"] = f"{reference.lower()}@us.example"

    def submit(job: tuple[str, str]) -> tuple[str, int, dict]:
        reference, role = job
        status, answer = api.call("POST", "/api/v1/requests", tokens[role], bodies[reference])
        return reference, status, answer

    # Every request from both CPs at the same instant, spread over every gateway and intake.
    jobs = [(reference, role) for reference in references for role in CPS]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        answers = list(pool.map(submit, jobs))
    cases = {}
    for reference in references:
        mine = [(status, answer) for ref, status, answer in answers if ref == reference]
        assert sorted(status for status, _ in mine) == [200, 201], mine
        assert len({answer["case_id"] for _, answer in mine}) == 1, mine
        cases[reference] = mine[0][1]["case_id"]
    assert len(set(cases.values())) == len(references)
    status, listed = api.call("GET", "/api/v1/cases?country=US", tokens["prosecution"])
    assert status == 200
    counts = Counter(case["case_id"] for case in listed["cases"])
    assert all(counts[case_id] == 1 for case_id in cases.values()), counts

    def orders_of(case_id: str) -> list[dict]:
        _, inbox = api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])
        return [order for order in inbox["orders"] if order["case_id"] == case_id]

    def drafted(case_id: str) -> list[dict]:
        status, case = api.call("GET", f"/api/v1/cases/{case_id}", tokens["police"])
        assert status == 200, case
        return case["preservation_orders"]

    for reference, case_id in cases.items():
        (draft,) = wait_for(lambda c=case_id: drafted(c), what=f"the order of {reference}")
        if draft["status"] == "awaiting_approval":  # the police's copy came first
            approve = f"/api/v1/preservation-orders/{draft['order_id']}/approve"
            status, approved = api.call("POST", approve, tokens["prosecution"])
            assert status == 200 and approved["status"] == "issued", approved
        (order,) = wait_for(lambda c=case_id: orders_of(c), what=f"{reference} in the inbox")
        # The provider acknowledges twice at once (a double click over two gateways).
        path = f"/api/v1/isp/orders/{order['order_id']}/acknowledge"
        with ThreadPoolExecutor(max_workers=2) as pool:
            acks = list(pool.map(api.call, ["POST"] * 2, [path] * 2, [tokens["isp_a"]] * 2))
        assert [status for status, _ in acks] == [200, 200], acks
        assert acks[0][1]["status"] == acks[1][1]["status"] == "acknowledged", acks

    def timeline(case_id: str) -> list[dict]:
        status, body = api.call("GET", f"/api/v1/cases/{case_id}/timeline", tokens["police"])
        assert status == 200, body
        return body["entries"]

    for reference, case_id in cases.items():
        wait_for(
            lambda c=case_id: set(ONCE) <= {e["event"] for e in timeline(c)},
            timeout=40,
            what=f"every step of {reference} on the timeline",
        )
    time.sleep(2.5)  # one more catch-up round of every consumer: nothing may come twice
    for reference, case_id in cases.items():
        entries = timeline(case_id)
        steps = [(e["service"], e["event"], e["at"], e["summary"]) for e in entries]
        assert len(steps) == len(set(steps)), f"{reference}: a step is on the timeline twice"
        events = Counter(e["event"] for e in entries)
        assert {event: events[event] for event in ONCE} == dict.fromkeys(ONCE, 1), events
        status, case = api.call("GET", f"/api/v1/cases/{case_id}", tokens["police"])
        assert status == 200, case
        providers = Counter(order["provider_id"] for order in case["preservation_orders"])
        assert providers and set(providers.values()) == {1}, case["preservation_orders"]

    # The requesting CP is told once of each: e-mails leave from one replica at a time.
    def subjects(reference: str) -> Counter:
        mails = cluster.mailbox.to(f"{reference.lower()}@us.example")
        return Counter(" ".join(mail["Subject"].split()) for mail in mails)

    for reference in cases:
        wait_for(
            lambda r=reference: (
                {"Confirmation of receipt", "Preservation order issued"}
                <= {subject.split(" - ")[0] for subject in subjects(r)}
            ),
            what=f"the receipt and the order's notice for {reference}",
        )
    time.sleep(2.5)  # another delivery round of every notification process
    for reference in cases:
        assert set(subjects(reference).values()) == {1}, subjects(reference)


PRODUCERS = producers()


def test_every_event_is_published_once_in_few_messages_whatever_the_replicas(cluster: Cluster):
    """Issue 19: one relay per producer at a time (a second replica adds no publishes), and a
    broker message carries a run of events (fewer messages than events)."""
    spy = event_spy()
    references = [f"US-ONCE-{cluster.replicas}-{n}" for n in range(4)]
    with Connection(cluster.amqp_uri) as connection:
        listening = connection.SimpleQueue(spy)  # bound before anything is published
        before = {p: head_of(cluster, p) for p in PRODUCERS}
        try:
            with ThreadPoolExecutor(max_workers=len(references)) as pool:
                answers = list(pool.map(register, [cluster] * 4, references))
            for case_id in answers:
                wait_for(lambda c=case_id: settled(cluster, c), what="the case to settle")
            # What each producer recorded meanwhile (a rolled-back insert leaves a gap in ids).
            wanted = {(p, n) for p in PRODUCERS for n in recorded_since(cluster, p, before[p])}
            seen: Counter[tuple[str, int]] = Counter()
            messages = 0
            while not wanted <= set(seen):  # every event recorded meanwhile has come by
                try:
                    message = listening.get(timeout=20)
                except (TimeoutError, Empty):
                    raise AssertionError(f"never published: {sorted(wanted - set(seen))}") from None
                message.ack()
                messages += 1
                for body in unbatched(json.loads(message.body)):
                    seen[(body["source"], body["notification_id"])] += 1
        finally:
            listening.close()
    twice = {event: n for event, n in seen.items() if n > 1}
    assert not twice, f"published more than once: {twice}"
    assert len(wanted) > 4 * 10 and messages < len(seen), (messages, len(seen))


def settled(cluster: Cluster, case_id: str) -> bool:
    return {"ReceiptAcknowledged", "OrderDelivered", "MlaExpected"} <= set(
        timeline_events(cluster, case_id)
    )


def recorded_since(cluster: Cluster, producer: str, position: int) -> list[int]:
    app = cluster.application(producer)
    try:
        return [m["notification_id"] for m in app.outbox(position + 1, 10_000)]
    finally:
        app.close()


def head_of(cluster: Cluster, producer: str) -> int:
    app = cluster.application(producer)
    try:
        return app.outbox_head()
    finally:
        app.close()


CONSUMERS = consumers()
PROCESSED = "cp247_events_processed_total"


def test_each_event_is_applied_by_exactly_one_replica(cluster: Cluster):
    """Issue 19: replicas of a consumer share its queues and its store, and each event is
    applied by one of its processes only: summed over them, the events the consumer applied
    are exactly the events its upstreams recorded past its positions (a second replica adds
    no applications; a double one would show here)."""
    apps = {name: cluster.application(name) for name in {*CONSUMERS, *PRODUCERS}}
    try:
        before = wait_for(lambda: quiet_snapshot(cluster, apps), what="a quiet moment")
        references = [f"US-APPLY-{cluster.replicas}-{n}" for n in range(3)]
        with ThreadPoolExecutor(max_workers=len(references)) as pool:
            answers = list(pool.map(register, [cluster] * 3, references))
        for case_id in answers:
            wait_for(lambda c=case_id: settled(cluster, c), what="the case to settle")
        after = wait_for(lambda: quiet_snapshot(cluster, apps), what="every consumer caught up")
        for name in CONSUMERS:
            upstreams = apps[name].upstreams
            recorded = sum(
                len(apps[u].outbox(before.positions[name][u] + 1, 10_000))
                - len(apps[u].outbox(after.positions[name][u] + 1, 10_000))
                for u in upstreams
            )
            applied = after.applied[name] - before.applied[name]
            assert applied == recorded, f"{name}: {applied} applied for {recorded} events"
        assert sum(after.applied.values()) - sum(before.applied.values()) > 3 * 20
    finally:
        for app in apps.values():
            app.close()


class Snapshot(NamedTuple):
    positions: dict[str, dict[str, int]]  # consumer -> upstream -> tracking position
    applied: dict[str, float]  # consumer -> events applied, summed over its processes


def quiet_snapshot(cluster: Cluster, apps: dict) -> Snapshot | None:
    """Every consumer's positions (each at its upstream's head) and applied count, read
    between two equal readings of the positions: nothing was applied while counting."""

    def positions() -> dict[str, dict[str, int]]:
        return {n: {u: apps[n].position(u) for u in apps[n].upstreams} for n in CONSUMERS}

    first = positions()
    if any(first[n][u] < apps[u].outbox_head() for n in CONSUMERS for u in first[n]):
        return None
    applied = {
        n: sum(cluster.metric_total(k, PROCESSED) for k in cluster.processes_of(n))
        for n in CONSUMERS
    }
    return Snapshot(first, applied) if positions() == first else None
