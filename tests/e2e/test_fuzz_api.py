"""Schemathesis over the whole OpenAPI document, against the embedded product, as each role.

Every operation a role may call is generated from the document (the examples, coverage and
fuzzing phases; valid and invalid data), sent over HTTP with that role's token, and checked:
never a 5xx (a ``503`` included: embedded, nothing is ever unavailable), never a stack trace
in a body, only documented status codes and media types, error bodies of the ``Error`` shape,
invalid data refused, authentication not ignored, ``405`` with ``Allow`` for other methods.
Calls reach real records: :mod:`fuzz_world` makes some, :mod:`fuzz_hooks` puts their ids into
about half of the generated paths.

The ``schemathesis`` CLI runs as a subprocess (its public interface, with its own summary and
reproduction commands on failure), once per role, against the server of this process; the
server's own request counter confirms what it answered. Bounded by ``FUZZ_MAX_EXAMPLES``
(default 25) fuzzed examples per operation (the coverage phase adds the schema's boundary
cases); with ``CI=true`` generation is deterministic, otherwise the seed is printed
(``FUZZ_SEED`` reuses it, though the records' ids differ from run to run).
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from embedded_runner import running_embedded
from fuzz_world import build_world

from cp247 import metrics
from cp247.security_doc import matrix
from services.gateway.openapi import openapi_document

TESTS = Path(__file__).resolve().parents[1]
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES") or 25)
DETERMINISTIC = os.environ.get("CI") == "true"
ROLES = ("anonymous", "isp", "oversight", "admin", "police", "prosecution")
# positive_data_acceptance would demand 2xx for every schema-valid call; a valid request for
# a case that does not exist, or an order already released, is rightly refused.
EXCLUDED_CHECKS = "positive_data_acceptance"
SUMMARY: dict[str, dict[str, Any]] = {}


def role_document(role: str) -> dict[str, Any]:
    """The OpenAPI document reduced to the operations ``role`` may call (the public ones for
    ``anonymous``), per the gateway's route table."""
    allowed = {
        (method.lower(), re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path))
        for method, path, roles in matrix()
        if (roles is None if role == "anonymous" else roles is not None and role in roles)
    }
    document = json.loads(json.dumps(openapi_document()))
    paths = {
        path: {m: op for m, op in operations.items() if (m, path) in allowed}
        for path, operations in document["paths"].items()
    }
    document["paths"] = {path: operations for path, operations in paths.items() if operations}
    return document


def served() -> Counter:
    """Requests the gateway of this process answered so far, by status."""
    counts: Counter = Counter()
    for family in metrics.HTTP_REQUESTS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                counts[sample.labels["status"]] += int(sample.value)
    return counts


@pytest.fixture(scope="module")
def target(tmp_path_factory, request):
    with running_embedded(tmp_path_factory.mktemp("fuzz") / "data") as (api, _, platform):
        yield api, build_world(api, platform)
    if SUMMARY:
        total = {
            key: sum(s[key] for s in SUMMARY.values())
            for key in ("pairs", "cases", "requests", "server_errors", "seconds")
        }
        operations = sum(len(o) for o in openapi_document()["paths"].values())
        show(
            request,
            f"fuzz total: {operations} operations, {total['pairs']} (operation, role) pairs, "
            f"up to {MAX_EXAMPLES} fuzzed examples each, {total['cases']} cases, "
            f"{total['requests']} requests, {total['server_errors']} server errors, "
            f"{total['seconds']:.0f} s",
        )


def show(request: pytest.FixtureRequest, line: str) -> None:
    """A line on the terminal even under ``-q`` and output capture (for docs/reliability.md)."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    if capture is None or reporter is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@pytest.mark.parametrize("role", ROLES)
def test_no_generated_call_gets_a_server_error(target, role, tmp_path, request):
    api, world = target
    spec = tmp_path / "openapi.json"
    document = role_document(role)
    operations = sum(len(o) for o in document["paths"].values())
    spec.write_text(json.dumps(document))
    report = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", str(spec),
        "--url", api.base_url,
        "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES),
        "--workers", "1",
        "--request-timeout", "30",
        "--no-color",
        "--report", "json", "--report-json-path", str(report),
    ]  # fmt: skip
    if DETERMINISTIC:
        command.append("--generation-deterministic")
    else:
        seed = int(os.environ.get("FUZZ_SEED") or random.randrange(2**32))
        command += ["--seed", str(seed), "--generation-database", "none"]
    if role != "anonymous":
        command += ["--header", f"Authorization: Bearer {world.tokens[role]}"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
        "SCHEMATHESIS_HOOKS": "fuzz_hooks",
        "FUZZ_KNOWN_IDS": json.dumps(world.ids),
    }
    before, started = served(), time.monotonic()
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    seconds = time.monotonic() - started
    answered = served() - before
    server_errors = {status: n for status, n in answered.items() if status.startswith("5")}
    outcome = json.loads(report.read_text()) if report.exists() else {}
    cases = outcome.get("test_cases", {}).get("generated", 0)
    SUMMARY[role] = {
        "pairs": operations,
        "cases": cases,
        "requests": sum(answered.values()),
        "server_errors": sum(server_errors.values()),
        "seconds": seconds,
    }
    line = (
        f"fuzz[{role}]: {operations} operations, up to {MAX_EXAMPLES} fuzzed examples each, "
        f"{cases} cases, {sum(answered.values())} requests "
        f"({', '.join(f'{s}: {n}' for s, n in sorted(answered.items()))}), {seconds:.1f} s, "
        f"seed {'deterministic' if DETERMINISTIC else seed}"
    )
    show(request, line)
    assert done.returncode == 0 and not server_errors, (
        f"{line}\nserver errors: {server_errors}\n{done.stdout[-20000:]}\n{done.stderr[-5000:]}"
    )
    assert outcome["operations"]["tested"] == operations, outcome["operations"]
    assert cases >= operations  # something was generated for every operation
