"""The gateway's readiness: out of service only when requests cannot be taken at all."""

from __future__ import annotations

import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.gateway.api import Gateway


class Backends:
    """Only readiness is asked here; the checks are what the services answered."""

    def __init__(self, checks: dict[str, bool]):
        self.checks = checks

    def ready(self) -> dict[str, bool]:
        return dict(self.checks)


@pytest.mark.parametrize(
    ("down", "status", "state"),
    [((), 200, "ready"), (("timeline",), 200, "degraded"), (("intake",), 503, "not_ready")],
)
def test_readiness_follows_what_the_gateway_can_still_do(down, status, state):
    checks = {name: name not in down for name in ("intake", "preservation", "timeline")}
    gateway = Gateway(Backends(checks))  # type: ignore[arg-type]
    response = gateway.handle(Request(EnvironBuilder(path="/readyz").get_environ()))
    body = json.loads(response.get_data(as_text=True))
    assert (response.status_code, body["status"]) == (status, state)
    assert body["checks"] == checks
