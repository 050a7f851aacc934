"""Growth: intake and case-list latency with 10^2, 10^4 and 10^5 cases already stored.

How it works: the intake application is built as the product builds it
(``make_application("intake", Settings(...))``, via ``bench.intake_latency.open_store``) on a
fresh embedded SQLite store, which is grown to each size in turn. Seeding runs the intake's own
recording code (``_record_new``: the same Case, Request and IdentifierIndex aggregates and
events as a registration) on requests validated once per country, and saves 500 cases per
``app.save`` (one transaction), so 10^5 cases take a minute or two, not seven. Every case has
its own reference and identifier (no near duplicates); countries rotate over US, DE, FR, RO.
At each size a fresh case index is built by one untimed ``list_cases`` call (reported as
``index_build_ms``), then ``--samples`` calls of each kind are timed one at a time with
``time.perf_counter``: "intake" (``register_request`` of a new preservation request), "case
list" (``list_cases({"limit": "50"})``, the console's first page) and "case list (filtered)"
(``list_cases({"country": "DE", "limit": "50"})``). Target: each p50 at the largest size
within 1.5x of its p50 at the smallest. Progress goes to stderr, a table to stdout.

    python -m bench.growth [--sizes 100,10000,100000] [--samples 200] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from eventsourcing.system import ProcessApplication

from bench.intake_latency import ACTOR, duration, open_store, sizes_argument
from bench.stats import machine, summary
from cp247.clock import utcnow
from cp247.runtime.read_index import ReadIndex
from cp247.samples import address_for, preservation_request
from services.intake.domain import Case, request_id_for
from services.intake.hygiene import normalise_identifiers

TARGET_RATIO = 1.5
COUNTRIES = ("US", "DE", "FR", "RO")  # a quarter of the cases match the filtered list
FILTERED_COUNTRY = "DE"
BATCH = 500  # cases per app.save: one transaction
WARMUP = 5
PROGRESS_SECONDS = 10.0
FIGURES: dict[str, Callable[[Any, int], Any]] = {
    "intake": lambda bench, n: bench.register(n),
    "case list": lambda bench, _: bench.app.list_cases({"limit": "50"}),
    "case list (filtered)": lambda bench, _: bench.app.list_cases(
        {"country": FILTERED_COUNTRY, "limit": "50"}
    ),
}


def request_body(reference: str, country: str) -> dict[str, Any]:
    """A distinct preservation request: its own reference, identifier and country."""
    body = preservation_request(reference)
    body["requesting_authority"]["country"] = body["counterpart_country"] = country
    return body


class Growth:
    """One intake application whose store grows; seeds in bulk, times calls one at a time."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cases = 0
        self.registered = 0  # new requests sent through register_request (timed or warm-up)
        self.contract_checked = False
        # Validated once per country: schema, checklist, sender check (the slow, pure part).
        self.templates = {
            country: app._validate(request_body("SEED-TEMPLATE", country), utcnow())
            for country in COUNTRIES
        }

    def seed(self, target: int) -> float:
        """Grow the store to ``target`` cases in batches; returns the seconds it took."""
        began = last = time.monotonic()
        start = self.cases
        app = self.app
        pending: list[Any] = []
        # _record_new saves each case itself: collect instead, then save a batch at once.
        app.save = lambda *aggregates: pending.extend(aggregates)
        # The same sender gets the same receipt address: ask the directory once per country.
        addresses: dict[str, Any] = {}

        def acknowledgement_address(authority: dict[str, Any]) -> Any:
            country = authority["country"]
            if country not in addresses:
                addresses[country] = type(app).acknowledgement_address(app, authority)
            return addresses[country]

        app.acknowledgement_address = acknowledgement_address
        try:
            while self.cases < target:
                if self.contract_checked:
                    app._record = partial(ProcessApplication._record, app)
                for _ in range(min(BATCH, target - self.cases)):
                    self._record_seed_case(self.cases)
                    self.cases += 1
                with case_keys_in_one_transaction(app):
                    type(app).save(app, *pending)
                pending.clear()
                # Every case's events have the same shape: the contract check (the slowest part
                # of recording) runs on the first batch only; the stored events are the same.
                self.contract_checked = True
                now = time.monotonic()
                if now - last >= PROGRESS_SECONDS or self.cases == target:
                    rate = (self.cases - start) / max(now - began, 1e-9)
                    print(
                        f"  seeding to {target:,}: {self.cases:,} cases, {rate:.0f}/s, "
                        f"elapsed {duration(now - began)}, "
                        f"ETA {duration((target - self.cases) / rate)}",
                        file=sys.stderr,
                    )
                    last = now
        finally:
            for name in ("save", "acknowledgement_address", "_record"):
                vars(app).pop(name, None)  # the class's methods again
        return time.monotonic() - began

    def _record_seed_case(self, n: int) -> None:
        country = COUNTRIES[n % len(COUNTRIES)]
        reference = f"SEED-{n:07d}"
        template, _, warnings, completeness = self.templates[country]
        # A copy where the case differs; the rest (read only) is shared with the template.
        authority = {**template["requesting_authority"], "reference": reference}
        request = {**template, "requesting_authority": authority}
        received_at = utcnow()
        raw = request_body(reference, country)["data"]["identifiers"]
        identifiers, more, errors = normalise_identifiers(raw, "America/New_York", received_at)
        assert not errors and identifiers[0]["value"] == address_for(reference)
        result = self.app._record_new(
            request,
            str(request_id_for(country, reference)),
            identifiers,
            sorted({*warnings, *more}),
            completeness,
            False,
            ACTOR,
            received_at,
        )
        if not result["created"]:
            raise RuntimeError(f"{reference} joined another case: {result}")

    def register(self, n: int) -> None:
        """A new preservation request through the whole intake path."""
        reference = f"BENCH-{self.registered:07d}"
        body = request_body(reference, COUNTRIES[self.registered % len(COUNTRIES)])
        self.registered += 1
        result = self.app.register_request(body, ACTOR)
        if not result.get("created") or result.get("near_duplicate_of"):
            raise RuntimeError(f"{reference} was not registered as a new case: {result}")
        self.cases += 1

    def build_index(self) -> float:
        """A fresh case index (as after a restart), built by the first call: milliseconds."""
        self.app.case_index = ReadIndex(self.app, Case, self.app._case_summary)
        started = time.perf_counter()
        self.app.list_cases({"limit": "50"})
        return 1000 * (time.perf_counter() - started)

    def time_calls(self, figure: str, samples: int) -> list[float]:
        """``samples`` calls of one figure, after untimed warm-up calls: milliseconds."""
        call = FIGURES[figure]
        for n in range(WARMUP):
            call(self, n)
        gc.collect()
        timings = []
        for n in range(samples):
            started = time.perf_counter()
            call(self, n)
            timings.append(1000 * (time.perf_counter() - started))
        return timings


@contextmanager
def case_keys_in_one_transaction(app: Any) -> Iterator[None]:
    """The case keys a batch creates (one per case, made while its events are sealed) in one
    transaction: the product commits each key on its own, which on SQLite is an fsync a case.
    The rows are the same; only their commits are grouped."""
    vault = getattr(app.mapper, "vault", None)
    if vault is None:
        yield
        return
    table = vault._table

    @contextmanager
    def uncommitted() -> Iterator[Any]:
        with table._lock:
            if table._conn is None:
                table._conn = table._connect()
            yield table._conn.cursor()

    table.cursor = uncommitted
    try:
        yield
        table._conn.commit()
    finally:
        del table.cursor  # the class's cursor again
        if table._conn is not None and table._conn.in_transaction:
            table._conn.rollback()


def run(sizes: list[int], samples: int) -> dict[str, Any]:
    began = time.monotonic()
    latency: dict[str, dict[str, dict[str, float]]] = {figure: {} for figure in FIGURES}
    index_build: dict[str, float] = {}
    seed_seconds = 0.0
    with open_store("sqlite", "") as store:
        growth = Growth(store.app)
        for size in sizes:
            if growth.cases < size:
                seed_seconds += growth.seed(size)
            gc.collect()
            print(f"measuring with {growth.cases:,} cases stored", file=sys.stderr)
            index_build[str(size)] = round(growth.build_index(), 1)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"  index build: {index_build[str(size)]:.1f} ms (max RSS {rss:.0f} MiB)",
                file=sys.stderr,
            )
            for figure in FIGURES:
                latency[figure][str(size)] = summary(growth.time_calls(figure, samples))
                print(f"  {figure}: {latency[figure][str(size)]}", file=sys.stderr)
        events = store.app.recorder.max_notification_id() or 0
    return {
        "bench": "growth",
        "store": "sqlite",
        "sizes": sizes,
        "samples": samples,
        "latency_ms": latency,
        "index_build_ms": index_build,
        "seed_seconds": round(seed_seconds, 1),
        "total_seconds": round(time.monotonic() - began, 1),
        "events_stored": events,
        "machine": machine(),
    }


def report(result: dict[str, Any]) -> str:
    """The human table and the target check."""
    sizes = [str(s) for s in result["sizes"]]
    lines = [f"{'figure':<22}{'cases':>9}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'mean ms':>10}"]
    for figure, by_size in result["latency_ms"].items():
        for size in sizes:
            s = by_size[size]
            lines.append(
                f"{figure:<22}{int(size):>9,}{s['p50']:>10.2f}{s['p95']:>10.2f}"
                f"{s['p99']:>10.2f}{s['mean']:>10.2f}"
            )
    builds = ", ".join(f"{int(s):,}: {result['index_build_ms'][s]:.0f} ms" for s in sizes)
    lines += [
        f"index build (first call): {builds}",
        f"seeding {result['seed_seconds']:.0f} s, total {result['total_seconds']:.0f} s, "
        f"{result['events_stored']:,} events stored; {result['machine']}",
    ]
    if len(sizes) > 1:
        low, high = sizes[0], sizes[-1]
        lines.append(f"target: p50 at {int(high):,} within {TARGET_RATIO}x of p50 at {int(low):,}")
        for figure, by_size in result["latency_ms"].items():
            ratio = by_size[high]["p50"] / by_size[low]["p50"]
            verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
            lines.append(
                f"  {figure:<22}{by_size[low]['p50']:>8.2f} ms -> {by_size[high]['p50']:>8.2f} "
                f"ms  {ratio:.2f}x  {verdict}"
            )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.growth",
        description="Intake and case-list latency as the store grows (embedded SQLite).",
    )
    parser.add_argument(
        "--sizes",
        type=sizes_argument,
        default=[100, 10_000, 100_000],
        help="cases stored when measuring, comma-separated (default 100,10000,100000)",
    )
    parser.add_argument(
        "--samples", type=int, default=200, help="timed calls per figure and size (default 200)"
    )
    parser.add_argument("--json", help="write the results to this file as JSON")
    args = parser.parse_args(argv)
    if args.samples < 1:
        parser.error("--samples must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args.sizes, args.samples)
    print(report(result))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
            out.write("\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
