"""Shared fixtures. The test process itself is never eventlet-patched: the distributed tests
run every service as a separate ``nameko run`` process (see docs/adr/002)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from slice_driver import PASSWORD, Api, Cli, cli_env

from cp247.config import Settings
from cp247.embedded import EmbeddedPlatform


@contextmanager
def running_embedded(data_dir: Path) -> Iterator[tuple[Api, Cli, EmbeddedPlatform]]:
    """``cp247 run`` in this process on a free port, with its CLI against the same data dir
    (the environment as it is now: tests set ``CP247_SMTP_*`` etc. first)."""
    platform = EmbeddedPlatform(Settings.from_env(str(data_dir)))
    server = platform.serve("127.0.0.1", 0)
    platform.start()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield (
            Api(f"http://127.0.0.1:{server.server_port}"),
            Cli(cli_env(), str(data_dir)),
            platform,
        )
    finally:
        server.shutdown()
        server.server_close()
        platform.stop()


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[Api, Cli, EmbeddedPlatform]]:
    with running_embedded(tmp_path / "data") as running:
        yield running


@pytest.fixture
def tokens(embedded: tuple[Api, Cli, EmbeddedPlatform]) -> dict[str, str]:
    """The identities of ``slice_driver.identities``, made in-process (the CLI is slow to
    start and is covered by the slice tests)."""
    _, _, platform = embedded
    identity, providers = platform.apps["gateway"], platform.apps["isp_liaison"]
    for username, role in (("pat", "prosecution"), ("poe", "police"), ("ada", "admin")):
        identity.add_user(username, role, PASSWORD)
    for provider in ("telco-a", "telco-b"):
        providers.register_provider(provider, provider.title(), "RO")
    return {
        "prosecution": identity.issue_token(username="pat"),
        "police": identity.issue_token(username="poe"),
        "admin": identity.issue_token(username="ada"),
        "isp_a": identity.issue_token(provider_id="telco-a"),
        "isp_b": identity.issue_token(provider_id="telco-b"),
    }
