"""Disabling a person, ending a provider's tokens and a code used twice hold across every
gateway process at once (their records are in PostgreSQL, not in one process's memory)."""

from __future__ import annotations

import time
import urllib.parse

import pytest
from distributed_cluster import Cluster
from slice_driver import PASSWORD

from cp247 import totp

pytestmark = pytest.mark.distributed


def every_gateway(cluster: Cluster, token: str) -> set[int]:
    """The status of the same read through each gateway process (round robin, twice)."""
    return {cluster.api.call("GET", "/api/v1/cases", token)[0] for _ in range(4)}


def test_a_disabled_person_and_a_replayed_code_are_refused_by_every_gateway(cluster: Cluster):
    cli, api = cluster.cli, cluster.api
    username = f"leaver{cluster.replicas}"
    cli.ok("users", "add", "--username", username, "--role", "police", "--password", PASSWORD)
    uri = cli.ok("users", "enrol-totp", "--username", username)
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    body = {"username": username, "password": PASSWORD, "totp": totp.code_at(secret, time.time())}
    status, session = api.call("POST", "/api/v1/login", None, body)
    assert status == 200, session
    for _ in range(2):  # the same code, at each gateway process in turn
        assert api.call("POST", "/api/v1/login", None, body)[0] == 401
    token = cli.ok("tokens", "issue", "--username", username)
    assert every_gateway(cluster, token) == {200}
    status, answer = api.call(
        "POST", f"/api/v1/admin/users/{username}/disable", cluster.tokens["admin"], {}
    )
    assert status == 200 and answer["disabled"] is True, answer
    assert every_gateway(cluster, token) == {401}
    assert every_gateway(cluster, session["token"]) == {401}


def test_every_token_of_a_provider_ends_in_every_gateway(cluster: Cluster):
    cli, api = cluster.cli, cluster.api
    provider = f"telco-x{cluster.replicas}"
    cli.ok("providers", "add", "--id", provider, "--name", "Telco X", "--country", "RO")
    token = cli.ok("tokens", "issue", "--provider", provider)
    statuses = {api.call("GET", "/api/v1/isp/orders", token)[0] for _ in range(4)}
    assert statuses == {200}
    cli.ok("tokens", "revoke-all", "--provider", provider)
    statuses = {api.call("GET", "/api/v1/isp/orders", token)[0] for _ in range(4)}
    assert statuses == {401}
    assert api.call("GET", "/api/v1/isp/orders", cluster.tokens["isp_a"])[0] == 200
