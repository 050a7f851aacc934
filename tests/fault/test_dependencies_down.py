"""While a dependency is down the gateway answers at once: 503 with Retry-After, nothing
recorded (not a hang, not a 500); ``/readyz`` says so; when it is back, every process goes
on by itself (none is restarted) and requests flow end to end again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from distributed_cluster import Api, Cluster
from fault_harness import postgres, start_rabbitmq, stop_rabbitmq
from slice_driver import preservation_request, wait_for

pytestmark = pytest.mark.distributed


def register(cluster: Cluster, reference: str) -> tuple[int, dict, float, str | None]:
    started = time.monotonic()
    status, body, headers = cluster.api.call_with_headers(
        "POST", "/api/v1/requests", cluster.tokens["prosecution"], preservation_request(reference)
    )
    return status, body, time.monotonic() - started, headers.get("Retry-After")


def assert_refused_at_once(cluster: Cluster, reference: str, within: float) -> None:
    status, body, seconds, retry_after = register(cluster, reference)
    assert status == 503, body
    assert body["error"] == "service_unavailable" and body["message"], body
    assert retry_after and int(retry_after) > 0, "a 503 must say when to try again"
    assert seconds < within, f"answered after {seconds:.1f} s"


def readiness(port: int) -> tuple[int, dict]:
    return Api(f"http://127.0.0.1:{port}").call("GET", "/readyz")


@contextmanager
def same_processes(cluster: Cluster) -> Iterator[None]:
    """Nobody restarts a service meanwhile: each reconnects on its own."""
    before = {key: process.pid for key, process in cluster.processes.items()}
    yield
    for key, process in cluster.processes.items():
        assert process.poll() is None, f"{key} exited:\n{cluster.log(key)}"
    assert {key: p.pid for key, p in cluster.processes.items()} == before


def flows_again(cluster: Cluster, reference: str) -> None:
    """A new request is accepted and its order reaches the provider's inbox."""
    status, created = wait_for(
        lambda: (answer := register(cluster, reference))[0] == 201 and answer,
        timeout=90,
        pause=1.0,
        what="the gateway to accept requests again",
    )[:2]

    def in_inbox() -> bool:
        status, inbox = cluster.api.call("GET", "/api/v1/isp/orders", cluster.tokens["isp_a"])
        return status == 200 and created["case_id"] in {o["case_id"] for o in inbox["orders"]}

    wait_for(in_inbox, timeout=60, pause=0.5, what="the new order in the provider's inbox")


@contextmanager
def down(stop: Callable[[], None], start: Callable[[], None]) -> Iterator[None]:
    stop()
    try:
        yield
    finally:
        start()


def test_a_service_with_no_process_is_a_503_at_once_and_its_call_never_runs_late(
    cluster: Cluster,
):
    cluster.stop_service("intake")
    try:
        assert_refused_at_once(cluster, "US-DOWN-INTAKE", within=3)
        status, ready = readiness(cluster.gateway_port)
        assert status == 503 and ready["status"] == "not_ready", ready
        assert ready["checks"]["intake"] is False and ready["checks"]["preservation"] is True
    finally:
        cluster.start("intake")
    time.sleep(3)  # had the refused call been queued, intake would have run it by now
    status, body, _, _ = register(cluster, "US-DOWN-INTAKE")
    assert status == 201, f"the refused request was recorded after all: {status} {body}"


def test_while_postgresql_is_down_503_then_every_service_reconnects_by_itself(
    cluster: Cluster,
):
    with same_processes(cluster), down(lambda: postgres("stop"), lambda: postgres("start")):
        assert_refused_at_once(cluster, "US-DOWN-PG", within=20)
        status, ready = readiness(cluster.ports["intake"])
        assert status == 503 and ready["status"] == "not_ready", ready
        status, ready = readiness(cluster.gateway_port)
        assert status == 503, ready
    flows_again(cluster, "US-DOWN-PG")


def test_while_rabbitmq_is_down_503_then_every_service_reconnects_by_itself(cluster: Cluster):
    with same_processes(cluster), down(stop_rabbitmq, start_rabbitmq):
        assert_refused_at_once(cluster, "US-DOWN-MQ", within=5)
        status, ready = readiness(cluster.gateway_port)
        assert status == 503 and ready["status"] == "not_ready", ready
    flows_again(cluster, "US-DOWN-MQ")
