"""The one cluster all distributed tests share (starting seven processes takes seconds)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory, mailbox) -> Iterator[Cluster]:
    assert shutil.which("rabbitmqctl"), "the distributed tests need RabbitMQ on this machine"
    box, port = mailbox
    smtp = {
        "CP247_SMTP_HOST": "127.0.0.1",
        "CP247_SMTP_PORT": str(port),
        "CP247_SMTP_FROM": "cp247@cp.example.ro",
        # Retention tests: services notice a key destroyed by the CLI within a second.
        "CP247_CASE_KEY_CACHE_SECONDS": "1",
    }
    cluster = Cluster(tmp_path_factory.mktemp("cluster"), smtp)
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
