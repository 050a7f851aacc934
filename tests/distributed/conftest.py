"""The cluster all distributed tests share (starting seven processes takes seconds).

Every distributed test runs twice: against one process per service, then against two
replicas of every service (competing consumers on the same quorum queues, two gateways
behind a round-robin client) on a broker set up from the definitions.
``CP247_TEST_REPLICAS=2`` (or ``1``) runs one set-up only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from distributed_cluster import Cluster, running_cluster

REPLICAS = [int(n) for n in os.environ.get("CP247_TEST_REPLICAS", "1,2").split(",")]


@pytest.fixture(scope="package", params=REPLICAS, ids=lambda n: f"replicas={n}")
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """A cluster and its own mailbox per set-up; pytest runs every test against the first,
    stops it, then starts the second, and stops that one before leaving this folder (the
    fault suite restarts the broker and the database under a cluster of its own)."""
    assert shutil.which("rabbitmqctl"), "the distributed tests need RabbitMQ on this machine"
    replicas = request.param
    tmp = tmp_path_factory.mktemp(f"cluster{replicas}x")
    # One process per service on a bare vhost: the services declare their exchanges and
    # quorum queues themselves (`make run-distributed` on a fresh broker). Two of each on
    # a vhost first set up from infra/rabbitmq/definitions.json, as in production.
    with running_cluster(tmp, replicas, definitions=replicas > 1) as cluster:
        yield cluster
