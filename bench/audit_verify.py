"""Audit verify: the quick check's latency with 10^2, 10^4 and 10^5 cases on the timeline.

How it works: for each size, a fresh embedded data directory; intake is seeded to the size as
``bench.growth`` seeds it, the timeline is rebuilt from intake's outbox (``rebuild``), and one
untimed quick check verifies the whole history once (reported as ``first_check_s``: the cost a
store upgraded from an earlier version pays once). Then each of ``--samples`` rounds registers
one new preservation request through intake, applies its events to the timeline as the live
consumer does (``process``), and times ``audit_verify`` (the quick check since the
checkpoint), one at a time with ``time.perf_counter``. Target: the p50 at the largest size
within 1.5x of the p50 at the smallest: the check follows what is new, not the history.

    python -m bench.audit_verify [--sizes 100,10000,100000] [--samples 50] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.growth import COUNTRIES, TARGET_RATIO, Growth, request_body
from bench.intake_latency import ACTOR, sizes_argument
from bench.stats import machine, summary
from cp247.bootstrap import make_application
from cp247.config import Settings
from events import registry

WARMUP = 3
FIGURE = "audit verify"  # its name in make bench's growth table


class AuditBench:
    """Intake and the timeline on one fresh data directory."""

    def __init__(self, data_dir: Path) -> None:
        settings = Settings(data_dir=data_dir)
        self.intake = make_application("intake", settings)
        self.timeline = make_application("timeline", settings)
        self.growth = Growth(self.intake)

    def read(self, source: str, start: int, limit: int) -> list[dict[str, Any]]:
        return self.intake.outbox(start, limit) if source == "intake" else []

    def seed(self, size: int) -> float:
        began = time.monotonic()
        self.growth.seed(size)
        self.timeline.rebuild(self.read)
        return time.monotonic() - began

    def apply_new(self) -> None:
        """One new request registered and applied to the timeline, as live."""
        n = self.growth.registered
        self.growth.registered += 1
        body = request_body(f"AUDIT-{n:07d}", COUNTRIES[n % len(COUNTRIES)])
        self.intake.register_request(body, ACTOR)
        start = self.timeline.position("intake") + 1
        while page := self.intake.outbox(start, 500):
            for message in page:
                self.timeline.process(registry.decode(message))
            start = page[-1]["notification_id"] + 1

    def quick_check(self) -> float:
        started = time.perf_counter()
        report = self.timeline.audit_verify(self.read)
        elapsed = 1000 * (time.perf_counter() - started)
        if not report["ok"]:
            raise RuntimeError(f"the audit failed: {report['failed']}")
        return elapsed

    def close(self) -> None:
        self.intake.close()
        self.timeline.close()


def run(sizes: list[int], samples: int) -> dict[str, Any]:
    began = time.monotonic()
    latency: dict[str, dict[str, float]] = {}
    first: dict[str, float] = {}
    entries: dict[str, int] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="cp247-bench-audit-") as tmp:
            bench = AuditBench(Path(tmp))
            try:
                print(f"seeding {size:,} cases", file=sys.stderr)
                bench.seed(size)
                started = time.perf_counter()
                bench.quick_check()  # the whole history, once: the first checkpoint
                first[str(size)] = round(time.perf_counter() - started, 2)
                for _ in range(WARMUP):
                    bench.apply_new()
                    bench.quick_check()
                gc.collect()
                timings = []
                for _ in range(samples):
                    bench.apply_new()
                    timings.append(bench.quick_check())
                latency[str(size)] = summary(timings)
                entries[str(size)] = bench.timeline.audit_verify(bench.read)["entries"]
                print(f"  first check {first[str(size)]} s; quick check {latency[str(size)]}",
                      file=sys.stderr)  # fmt: skip
            finally:
                bench.close()
    return {
        "bench": "audit_verify",
        "store": "sqlite",
        "sizes": sizes,
        "samples": samples,
        "latency_ms": {FIGURE: latency},
        "first_check_s": first,
        "entries": entries,
        "total_seconds": round(time.monotonic() - began, 1),
        "machine": machine(),
    }


def report(result: dict[str, Any]) -> str:
    sizes = [str(s) for s in result["sizes"]]
    lines = [f"{'cases':>9}{'entries':>10}{'p50 ms':>10}{'p95 ms':>10}{'first check s':>15}"]
    for size in sizes:
        s = result["latency_ms"][FIGURE][size]
        lines.append(
            f"{int(size):>9,}{result['entries'][size]:>10,}{s['p50']:>10.2f}{s['p95']:>10.2f}"
            f"{result['first_check_s'][size]:>15.2f}"
        )
    if len(sizes) > 1:
        by_size = result["latency_ms"][FIGURE]
        low, high = by_size[sizes[0]]["p50"], by_size[sizes[-1]]["p50"]
        ratio = high / low
        verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        lines.append(
            f"target: quick check p50 at {int(sizes[-1]):,} within {TARGET_RATIO}x of "
            f"{int(sizes[0]):,}: {low:.2f} ms -> {high:.2f} ms  {ratio:.2f}x  {verdict}"
        )
    lines.append(f"total {result['total_seconds']:.0f} s; {result['machine']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.audit_verify",
        description="The audit's quick check as the timeline grows (embedded SQLite).",
    )
    parser.add_argument("--sizes", type=sizes_argument, default=[100, 10_000, 100_000])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--json", help="write the results to this file as JSON")
    args = parser.parse_args(argv)
    result = run(args.sizes, args.samples)
    print(report(result))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
