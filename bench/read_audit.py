"""Read audit: what one audited read costs the gateway (its log entry and its count).

Every GET of a case, its timeline, a request, an order, a document or a list writes the read
to the target's log and counts it for the read figures (issue 18, item 4), in one
transaction of the gateway's sealed store. This times ``record_read`` on a fresh embedded
store: one police user reading ``--cases`` cases in turn, ``--reads`` reads, one at a time.

    python -m bench.read_audit [--reads 2000] [--cases 50] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.stats import machine, summary
from cp247.bootstrap import make_application
from cp247.config import Settings
from services.gateway.identity import Principal


def run(reads: int, cases: int) -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        identity = make_application("gateway", Settings.from_env(data_dir))
        reader = Principal(username="poe", role="police", provider_id=None)
        times = []
        for i in range(reads):
            case_id = f"case-{i % cases}"
            started = time.perf_counter()
            identity.record_read(reader, "case", f"case:{case_id}", case_id)
            times.append((time.perf_counter() - started) * 1000)
        return {"machine": machine(), "reads": reads, "cases": cases, "ms": summary(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.reads, args.cases)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
