"""The one cluster all distributed tests share (starting seven processes takes seconds)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from distributed_cluster import Cluster
from slice_driver import PASSWORD, identities


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    assert shutil.which("rabbitmqctl"), "the distributed tests need RabbitMQ on this machine"
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    cluster.create()
    try:
        cluster.start()
        cluster.tokens = identities(cluster.cli)
        cluster.cli.ok(
            "users", "add", "--username", "ada", "--role", "admin", "--password", PASSWORD
        )
        cluster.tokens["admin"] = cluster.cli.ok("tokens", "issue", "--username", "ada")
        yield cluster
    finally:
        cluster.destroy()
