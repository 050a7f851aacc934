"""The same slice in the distributed mode: every service a separate ``nameko run`` process,
the real RabbitMQ and PostgreSQL of this machine, a fresh database and vhost per run."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from distributed_cluster import (
    METRICS_TOKEN,
    Cluster,
    event_spy,
    queues,
    rabbitmqctl,
    register,
    timeline_events,
)
from kombu import Connection, Exchange, Producer
from slice_driver import (
    Api,
    address_for,
    assert_bad_input_is_refused,
    run_slice,
    wait_for,
)

from cp247.nameko_support import DEAD_LETTER_QUEUE
from cp247.runtime.inbox import unbatched
from events import registry

PRIVATE = [contract.name for contract in registry if contract.private]

pytestmark = pytest.mark.distributed

NOTIFICATION_FROM_INTAKE = "evt-intake-#--notification.from_intake"


def receipt_recorded(cluster: Cluster, case_id: str) -> bool:
    return "ReceiptAcknowledged" in timeline_events(cluster, case_id)


def test_slice_across_processes_over_rabbitmq_and_postgres(cluster: Cluster):
    result = run_slice(cluster.api, cluster.tokens, "US-DIST-0001")
    assert len(result["timeline"]["entries"]) >= 9

    def audited() -> dict | None:
        status, report = cluster.api.call("GET", "/api/v1/audit/verify", cluster.tokens["admin"])
        assert status == 200, report
        return report if report["ok"] and report["entries"] >= 9 else None

    wait_for(audited, what="the audit over RPC from every store")


def test_bad_input_is_refused_by_the_distributed_gateway(cluster: Cluster):
    assert_bad_input_is_refused(cluster.api, cluster.tokens)


def test_same_message_delivered_twice_changes_nothing(cluster: Cluster):
    case_id = register(cluster, "US-DIST-REDELIVER")
    settled = {
        "RequestReceived", "ReceiptAcknowledged", "DutyOfficerAlerted", "OrderDelivered",
        "MlaExpected",
    }  # fmt: skip
    wait_for(lambda: settled <= set(timeline_events(cluster, case_id)), what="the case to settle")
    before = timeline_events(cluster, case_id)

    intake = cluster.application("intake")
    try:
        messages = [
            m
            for m in intake.outbox(1, 1000)
            if m.get("event") == "RequestReceived" and m["payload"]["case_id"] == case_id
        ]
    finally:
        intake.close()
    assert len(messages) == 1
    with Connection(cluster.amqp_uri) as connection:
        producer = Producer(connection, serializer="json")
        exchange = Exchange("intake.events", type="topic", durable=True)
        for _ in range(2):
            producer.publish(
                messages[0], exchange=exchange, routing_key="RequestReceived", confirm_publish=True
            )

    # The broker's own signal: both copies delivered and acknowledged (nameko acknowledges
    # once the handler has returned), whichever path set them aside.
    def drained() -> bool:
        listed = queues(cluster.vhost, "messages")
        held = [q for q in listed if q["name"] == NOTIFICATION_FROM_INTAKE]
        assert len(held) == 1, "notification's queue for intake events"
        return held[0]["messages"] == "0"

    wait_for(drained, what="notification to take both copies")
    # Anything notification recorded from a copy is relayed before a later case's receipt.
    later = register(cluster, "US-DIST-REDELIVER-AFTER")
    wait_for(lambda: receipt_recorded(cluster, later), what="a later case's receipt")
    # What the redelivered RequestReceived would have caused, had it been applied again.
    after = timeline_events(cluster, case_id)
    for caused in ("RequestReceived", "ReceiptAcknowledged", "DutyOfficerAlerted"):
        assert after.count(caused) == before.count(caused) == 1, caused


def test_stopped_consumer_catches_up_after_restart_with_nothing_lost(cluster: Cluster):
    cluster.stop_service("notification")
    queued = [register(cluster, f"US-DIST-OFFLINE-{n}") for n in range(3)]
    assert not any(receipt_recorded(cluster, case_id) for case_id in queued)
    cluster.start("notification")
    for case_id in queued:
        wait_for(lambda c=case_id: receipt_recorded(cluster, c), what="a receipt after restart")


def test_consumer_fills_a_gap_by_pulling_from_the_producer(cluster: Cluster):
    """Messages lost in the broker: the next one shows a gap, the rest is pulled over RPC."""
    cluster.stop_service("notification")
    lost = [register(cluster, f"US-DIST-LOST-{n}") for n in range(2)]
    rabbitmqctl("purge_queue", "-p", cluster.vhost, NOTIFICATION_FROM_INTAKE)
    cluster.start("notification")
    gaps_before = cluster.total(
        "notification", "cp247_event_gaps_total", service="notification", upstream="intake"
    )
    after = register(cluster, "US-DIST-AFTER-GAP")
    for case_id in [*lost, after]:
        wait_for(lambda c=case_id: receipt_recorded(cluster, c), what="every receipt")
    gaps = cluster.total(
        "notification", "cp247_event_gaps_total", service="notification", upstream="intake"
    )
    # Either the pushed message revealed the gap, or the catch-up timer got there first.
    assert gaps >= gaps_before


def test_invalid_message_is_dead_lettered_not_applied(cluster: Cluster):
    """A message that breaks the contract is dead-lettered and takes nobody's place."""
    warm_up = register(cluster, "US-DIST-BEFORE-BOGUS")
    wait_for(lambda: receipt_recorded(cluster, warm_up), what="notification to be caught up")
    intake = cluster.application("intake")
    try:
        next_id = intake.outbox_head() + 1
    finally:
        intake.close()
    bogus = {
        "source": "intake",
        "notification_id": next_id,  # the position the next real event will have
        "event": "NoSuchEvent",
        "version": 1,
        "originator_id": str(uuid.uuid4()),
        "originator_version": 1,
        "recorded_at": "2026-01-01T00:00:00.000000Z",
        "payload": {},
    }
    with Connection(cluster.amqp_uri) as connection:
        Producer(connection, serializer="json").publish(
            bogus,
            exchange=Exchange("intake.events", type="topic", durable=True),
            routing_key="NoSuchEvent",
            confirm_publish=True,
        )
        letters = []
        seal = cluster.dead_letter_seal()  # kept sealed: the tool that reads them opens them
        queue = connection.SimpleQueue(DEAD_LETTER_QUEUE)
        try:
            while not any(letter.get("body") == bogus for letter in letters):
                message = queue.get(timeout=20)
                letters.append(seal.open(message.payload))
                message.ack()
        finally:
            queue.close()
    letter = next(letter for letter in letters if letter.get("body") == bogus)
    assert letter["consumer"] in {"notification", "timeline", "preservation", "mla"}
    assert "NoSuchEvent" in letter["reason"]
    # The real event that then takes that position is applied, not mistaken for a duplicate.
    case_id = register(cluster, "US-DIST-AFTER-BOGUS")
    wait_for(lambda: receipt_recorded(cluster, case_id), what="a receipt after a bad message")


def raw_bytes(body: str | bytes) -> bytes:
    return body if isinstance(body, bytes) else body.encode()


def dead_letters(connection: Connection, cluster: Cluster, found: Any) -> tuple[dict, bytes]:
    """The first dead letter that ``found`` accepts (opened) and its raw bytes."""
    seal = cluster.dead_letter_seal()
    queue = connection.SimpleQueue(DEAD_LETTER_QUEUE)
    try:
        while True:
            message = queue.get(timeout=20)
            message.ack()
            letter = seal.open(message.payload)
            if found(letter):
                return letter, raw_bytes(message.body)
    finally:
        queue.close()


def test_no_registered_identifier_rests_on_the_broker_in_clear(cluster: Cluster):
    """Issue 19 item 5: every event message and dead letter on RabbitMQ keeps the personal
    fields sealed under the case key; the identifier a foreign CP registered never shows.
    Item 4: no private bookkeeping event crosses, not even by name."""
    reference = f"US-DIST-SEALED-{uuid.uuid4().hex[:6]}"
    secrets = (address_for(reference).encode(), b"ransom note names a server")
    spy = event_spy()
    with Connection(cluster.amqp_uri) as connection:
        listening = connection.SimpleQueue(spy)  # bound before anything is published
        try:
            case_id = register(cluster, reference)
            wait_for(
                lambda: "OrderIssued" in timeline_events(cluster, case_id),
                what="the order issued",
            )
            seen: dict[str, dict] = {}
            while "OrderIssued" not in seen:
                message = listening.get(timeout=20)
                message.ack()
                raw = raw_bytes(message.body)
                assert not any(s in raw for s in secrets), message.body
                # Item 4: a service's bookkeeping stays inside it (its position only crosses).
                assert not any(f'"{name}"'.encode() in raw for name in PRIVATE), message.body
                for body in unbatched(json.loads(message.body)):
                    if body.get("payload", {}).get("case_id") == case_id:
                        seen[body["event"]] = body
        finally:
            listening.close()
        assert seen["RequestReceived"]["payload"]["identifiers"]["__sealed__"] == 1
        assert seen["OrderIssued"]["payload"]["identifiers"]["__sealed__"] == 1
        # A sealed value moved to another case does not open: refused, dead-lettered, and
        # the dead letter shows nothing either, raw or opened with the dead-letter key.
        other = register(cluster, f"{reference}-OTHER")
        moved = dict(seen["RequestReceived"])
        moved["payload"] = {**moved["payload"], "case_id": other}
        Producer(connection, serializer="json").publish(
            moved,
            exchange=Exchange("intake.events", type="topic", durable=True),
            routing_key="RequestReceived",
            confirm_publish=True,
        )
        letter, raw = dead_letters(connection, cluster, lambda d: d.get("body") == moved)
    assert "does not open" in letter["reason"]
    assert not any(s in raw or s in json.dumps(letter).encode() for s in secrets)
    wait_for(lambda: receipt_recorded(cluster, other), what="the other case, untouched")


def test_no_server_banner_and_metrics_need_the_scrape_token(cluster: Cluster):
    """Issue 17: no answer names the server software; /metrics answers Prometheus only."""
    for port in (cluster.gateway_port, cluster.service_port("intake")):
        api = Api(f"http://127.0.0.1:{port}")
        status, _, headers = api.call_with_headers("GET", "/healthz")
        assert status == 200 and "Server" not in headers, port
        assert api.call("GET", "/metrics")[0] == 401
        assert api.call("GET", "/metrics", "not-the-token")[0] == 401
        assert api.call("GET", "/metrics", METRICS_TOKEN)[0] == 200
