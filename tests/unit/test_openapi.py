"""Every endpoint the gateway serves is in its OpenAPI document, and nothing else is."""

from __future__ import annotations

import re

from services.gateway.api import Gateway
from services.gateway.openapi import openapi_document

UNDOCUMENTED = {"/metrics"}  # Prometheus text, not JSON API


def test_openapi_lists_exactly_the_served_endpoints():
    gateway = Gateway(backends=None)  # type: ignore[arg-type]
    served: dict[str, set[str]] = {}
    for rule in gateway.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        if path not in UNDOCUMENTED:
            served.setdefault(path, set()).update(
                m.lower() for m in rule.methods if m not in ("HEAD", "OPTIONS")
            )
    documented = {path: set(operations) for path, operations in openapi_document()["paths"].items()}
    assert served == documented
