"""Shared fixtures. The test process itself is never eventlet-patched: the distributed tests
run every service as a separate ``nameko run`` process (see docs/adr/002)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from embedded_runner import running_embedded
from hypothesis import HealthCheck, settings
from slice_driver import PASSWORD, Api, Cli

from cp247.embedded import EmbeddedPlatform

# Property tests: no time limits on a busy 2-core machine; in CI the examples are derived
# from the test names, so a red build is reproducible and never a matter of chance.
settings.register_profile(
    "cp247",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("CI") == "true",
)
settings.load_profile("cp247")


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
