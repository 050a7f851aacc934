"""The fault suite's own cluster: it restarts RabbitMQ and PostgreSQL underneath it, so no
other cluster may be running (``tests/distributed`` stops its own before this folder)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from distributed_cluster import Cluster, running_cluster


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    for tool in ("rabbitmqctl", "pg_ctlcluster"):
        assert shutil.which(tool), f"the fault suite needs {tool} on this machine"
    replicas = int(os.environ.get("CP247_FAULT_REPLICAS", "1"))
    with running_cluster(tmp_path_factory.mktemp("faults"), replicas) as cluster:
        yield cluster
