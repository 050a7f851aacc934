"""Kill anything, lose nothing, duplicate nothing (bounded: ``make soak`` runs it for long).

While a careful client registers requests (each sent by both CPs) and the provider answers
its orders, every service process is killed with SIGKILL and restarted, a consumer is
paused until a backlog builds, every consumer receives old events again in shuffled order
plus one malformed message, RabbitMQ is restarted and PostgreSQL is restarted. Afterwards
every accepted request has one case, one order in its end state, each step once on the
timeline and each notice once in the requesting CP's mailbox; the dead-letter queue holds
the malformed message only; the audit chain verifies.
"""

from __future__ import annotations

import time

import pytest
from distributed_cluster import SERVICES, Cluster
from fault_harness import Faults, Traffic, verify

pytestmark = pytest.mark.distributed


def test_every_accepted_request_ends_once_whatever_crashes(cluster: Cluster):
    traffic = Traffic(cluster, prefix="US-FAULT", rate=2.0)
    faults = Faults(cluster)
    traffic.start()
    try:
        time.sleep(3)
        for service in SERVICES:
            faults.kill(service)
            time.sleep(1.5)
        faults.pause("preservation", 10)
        faults.inject_duplicates()
        time.sleep(2)
        faults.restart_rabbitmq()
        time.sleep(4)
        faults.restart_postgres()
        time.sleep(4)
    finally:
        traffic.stop()
    traffic.finish()
    outcome = verify(cluster, traffic, faults, cluster.mailbox)
    assert outcome.accepted >= 20, outcome
    assert len(faults.done) == len(SERVICES) + 6, faults.done  # every kind was injected
