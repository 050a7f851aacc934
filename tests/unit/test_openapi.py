"""Every endpoint the gateway serves is in its OpenAPI document, and nothing else is."""

from __future__ import annotations

import inspect
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


def test_every_path_parameter_is_declared_and_every_body_described():
    """Enough for a client generator or a fuzzer: templated paths declare their parameters,
    and every handler that reads a body documents it (media type and schema)."""
    gateway = Gateway(backends=None)  # type: ignore[arg-type]
    paths = openapi_document()["paths"]
    for rule in gateway.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        if path in UNDOCUMENTED:
            continue
        handler, _ = gateway.handlers[rule.endpoint]
        reads_body = re.search(r"\._(raw_)?body(_or_empty)?\(", inspect.getsource(handler))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths[path][method.lower()]
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
            assert bool(reads_body) == ("requestBody" in operation), (method, path)


def test_the_document_loads_in_schemathesis_with_every_operation():
    import schemathesis
    from schemathesis.core.result import Err

    schema = schemathesis.openapi.from_dict(openapi_document())
    operations = list(schema.get_all_operations())
    assert not [str(result.err()) for result in operations if isinstance(result, Err)]
    documented = sum(len(ops) for ops in openapi_document()["paths"].values())
    assert len(operations) == documented
