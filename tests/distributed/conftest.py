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
from contextlib import contextmanager
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from distributed_cluster import Cluster
from slice_driver import PASSWORD, free_port, identities


class Mailbox:
    """The SMTP server of the cluster's notification service (aiosmtpd on loopback)."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m["To"]]


REPLICAS = [int(n) for n in os.environ.get("CP247_TEST_REPLICAS", "1,2").split(",")]


@contextmanager
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture(scope="session", params=REPLICAS, ids=lambda n: f"replicas={n}")
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """A cluster and its own mailbox per set-up; pytest runs every test against the first,
    stops it, then starts the second."""
    assert shutil.which("rabbitmqctl"), "the distributed tests need RabbitMQ on this machine"
    replicas = request.param
    with mailbox() as (box, port):
        smtp = {
            "CP247_SMTP_HOST": "127.0.0.1",
            "CP247_SMTP_PORT": str(port),
            "CP247_SMTP_FROM": "cp247@cp.example.ro",
            # Retention tests: services notice a key destroyed by the CLI within a second.
            "CP247_CASE_KEY_CACHE_SECONDS": "1",
        }
        tmp = tmp_path_factory.mktemp(f"cluster{replicas}x")
        # One process per service on a bare vhost: the services declare their exchanges and
        # quorum queues themselves (`make run-distributed` on a fresh broker). Two of each on
        # a vhost first set up from infra/rabbitmq/definitions.json, as in production.
        cluster = Cluster(tmp, smtp, replicas=replicas, definitions=replicas > 1)
        cluster.mailbox = box
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
