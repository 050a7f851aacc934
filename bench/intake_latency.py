"""Intake latency (validate + dedup + record) with 10^2, 10^4 and 10^5 existing cases.

The target (a benchmark result, not a timed test): the p50 latency with 10^5 existing cases
stays within 1.3x of the p50 with 10^2, because look-ups are indexed and nothing scans.

The intake application is built as the product builds it (``make_application("intake", ...)``)
on a fresh store: a temporary SQLite directory (embedded mode, the default) or, with
``--store postgres``, a throw-away PostgreSQL database that is dropped afterwards. The store is
grown to each size in turn by registering distinct preservation requests; at each size, after
a warm-up, ``--samples`` new requests and ``--samples`` exact duplicates of earlier ones are
timed one call at a time. Results go to stdout and replace this benchmark's section for that
store in ``docs/benchmarks.md``; progress goes to stderr.

    python -m bench.intake_latency [--sizes 100,10000,100000] [--samples 300]
                                   [--store sqlite|postgres] [--output docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse
from uuid import uuid4

from bench.stats import commit, machine, percentile
from cp247.bootstrap import make_application
from cp247.config import Settings
from cp247.samples import preservation_request

BENCHMARK = "intake_latency"
TARGET_RATIO = 1.3
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ACTOR = {"username": "bench", "role": "prosecution"}
PATHS = ("new request", "duplicate")
PROGRESS_EVERY = 2000  # registrations between progress lines while seeding
PROGRESS_SECONDS = 15.0  # ... or at least this often
CONTROL_SIZE = 100  # cases in the control store before the first measurement

INTRO = """\
# Benchmarks

Measurements of cp247, written by the scripts in [`bench/`](../bench/README.md). They are
results to watch, not timed tests: nothing fails when a figure is off target, the section says
so. Each section is replaced when its benchmark runs again on the same store, and records the
machine, the versions and the date (UTC) of that run; compare figures within a section, or
between runs on the same machine.

## Intake latency

What is measured: `IntakeApplication.register_request`, called in-process as the gateway calls
it, i.e. validate (schema, Art 29(2) checklist, identifier hygiene, sender check) + dedup (the
request id derived from country + reference, and the identifier index for near duplicates) +
record (the case, the request and the index entries, in one atomic write to the event store).
The store is grown to 10^2, 10^4 and 10^5 existing cases; at each size, after a warm-up, new
requests and exact duplicates of earlier requests (the `duplicate_of` path) are timed one call
at a time with `time.perf_counter`. Target: the p50 with 10^5 existing cases within 1.3x of the
p50 with 10^2 (indexed look-ups, no scans).

Each call alternates with the same call on a control store that stays small (10^2 cases at the
start), so both see the same load: on a 2-core machine another process can add 50% to every
call, store or no store. "Ratio against control" divides each p50 by its control's first, and
so shows what the store size alone does; PASS/FAIL is judged on the plain ratio.

Run `make bench` (embedded SQLite store, about 7 minutes on a 2-core machine), or
`.venv/bin/python -m bench.intake_latency --store postgres` against the PostgreSQL of
`CP247_PG_ADMIN_URL` (a throw-away database, dropped afterwards); `--help` lists the options.
"""


# --- the store ------------------------------------------------------------------------------
@dataclass
class Store:
    app: Any
    kind: str
    description: str
    size_on_disk: Callable[[], int]


@contextmanager
def open_store(kind: str, pg_admin_url: str) -> Iterator[Store]:
    """A fresh intake application on an empty store, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="cp247-bench-") as tmp:
        if kind == "sqlite":
            app = make_application("intake", Settings(data_dir=Path(tmp)))
            try:
                yield Store(
                    app,
                    kind,
                    f"SQLite {sqlite3.sqlite_version} (embedded mode, a file in a temporary "
                    "directory)",
                    lambda: sum(p.stat().st_size for p in Path(tmp).glob("intake.sqlite*")),
                )
            finally:
                app.close()
            return
        with _postgres_database(pg_admin_url) as (database_url, describe, size):
            app = make_application(
                "intake", Settings(data_dir=Path(tmp), database_url=database_url)
            )
            try:
                yield Store(app, kind, describe, size)
            finally:
                app.close()


@contextmanager
def _postgres_database(admin_url: str) -> Iterator[tuple[str, str, Callable[[], int]]]:
    import psycopg

    name = f"cp247_bench_{uuid4().hex[:12]}"
    admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=10)
    try:
        server = admin.execute("SHOW server_version").fetchone()[0]
        admin.execute(f'CREATE DATABASE "{name}"')
        url = urlparse(admin_url)
        database_url = urlunparse(url._replace(path=f"/{name}"))
        where = f"{url.hostname or '127.0.0.1'}:{url.port or 5432}"

        def size() -> int:
            return admin.execute("SELECT pg_database_size(%s)", (name,)).fetchone()[0]

        print(f"created database {name} on {where}", file=sys.stderr)
        try:
            yield (
                database_url,
                f"PostgreSQL {server.split()[0]} on {where} (a fresh database, schema intake)",
                size,
            )
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"dropped database {name}", file=sys.stderr)
    finally:
        admin.close()


# --- measuring ------------------------------------------------------------------------------
@dataclass
class Result:
    size: int
    path: str
    cases_at_start: int
    timings: list[float]  # seconds, wall clock
    cpu: list[float]  # seconds of this process's CPU time, per call
    load: float  # 1-minute load average when measuring began
    control: list[float] = field(default_factory=list)  # wall clock, on the control store

    def stat(self, name: str, cpu: bool = False) -> float:
        """A statistic in milliseconds: p50, p95, p99 or mean."""
        values = sorted(self.cpu if cpu else self.timings)
        if name == "mean":
            return 1000 * sum(values) / len(values)
        return 1000 * percentile(values, int(name[1:]) / 100)

    def control_p50(self) -> float | None:
        return 1000 * percentile(sorted(self.control), 0.5) if self.control else None


@dataclass
class Bench:
    app: Any
    rng: random.Random
    references: list[str] = field(default_factory=list)
    duplicated: set[str] = field(default_factory=set)
    reused_duplicates: int = 0

    @property
    def cases(self) -> int:
        return len(self.references)

    def new(self) -> tuple[float, float]:
        """Register one new request; returns the seconds it took (wall clock, CPU)."""
        reference = f"BENCH-{self.cases + 1:07d}"
        body = preservation_request(reference)
        cpu, started = time.process_time(), time.perf_counter()
        result = self.app.register_request(body, ACTOR)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if not result.get("created") or result.get("near_duplicate_of"):
            raise RuntimeError(f"{reference} was not registered as a new case: {result}")
        self.references.append(reference)
        return elapsed, cpu

    def duplicates(self, count: int) -> list[str]:
        """References to send again: earlier requests, each once if there are enough."""
        fresh = [r for r in self.references if r not in self.duplicated]
        if len(fresh) >= count:
            chosen = self.rng.sample(fresh, count)
        else:  # a tiny store: some requests get a second duplicate
            chosen = fresh + self.rng.choices(self.references, k=count - len(fresh))
            self.reused_duplicates += count - len(fresh)
        self.duplicated.update(chosen)
        return chosen

    def duplicate(self, reference: str) -> tuple[float, float]:
        body = preservation_request(reference)
        cpu, started = time.process_time(), time.perf_counter()
        result = self.app.register_request(body, ACTOR)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if result.get("created") or not result.get("duplicate_of"):
            raise RuntimeError(f"{reference} again was not answered as a duplicate: {result}")
        return elapsed, cpu

    def grow(self, target: int) -> None:
        if self.cases >= target:
            return
        start, began = self.cases, time.monotonic()
        last_count, last_time = start, began
        while self.cases < target:
            self.new()
            now = time.monotonic()
            if (
                self.cases - last_count >= PROGRESS_EVERY
                or now - last_time >= PROGRESS_SECONDS
                or self.cases == target
            ):
                done = self.cases - start
                rate = done / max(now - began, 1e-9)
                eta = (target - self.cases) / rate if rate else 0.0
                print(
                    f"  seeding to {target}: {self.cases} cases, {rate:.0f}/s, "
                    f"elapsed {duration(now - began)}, ETA {duration(eta)}",
                    file=sys.stderr,
                )
                last_count, last_time = self.cases, now

    def measure(
        self, size: int, samples: int, warmup: int, control: Bench | None = None
    ) -> list[Result]:
        """Time ``samples`` new requests, then ``samples`` duplicates, with ``size`` cases.

        With a ``control`` (a second store that stays small), each call here alternates with
        the same call there, so that both see the same load on the machine.
        """
        self.grow(size)
        for bench in (self, control) if control else (self,):
            for _ in range(warmup):
                bench.new()
            for reference in bench.duplicates(warmup):
                bench.duplicate(reference)
        gc.collect()
        results = []
        for path in PATHS:
            start, load = self.cases, os.getloadavg()[0]
            if path == "new request":
                calls = [self.new] * samples
                controls = [control.new] * samples if control else []
            else:
                calls = [partial(self.duplicate, r) for r in self.duplicates(samples)]
                controls = (
                    [partial(control.duplicate, r) for r in control.duplicates(samples)]
                    if control
                    else []
                )
            timings, control_timings = alternate(calls, controls)
            results.append(
                Result(
                    size,
                    path,
                    start,
                    [wall for wall, _ in timings],
                    [cpu for _, cpu in timings],
                    load,
                    [wall for wall, _ in control_timings],
                )
            )
        return results


Timing = tuple[float, float]


def alternate(
    calls: list[Callable[[], Timing]], controls: list[Callable[[], Timing]]
) -> tuple[list[Timing], list[Timing]]:
    """Run the calls, each paired with its control call (which goes first every other time)."""
    timings: list[Timing] = []
    control_timings: list[Timing] = []
    for index, call in enumerate(calls):
        if controls and index % 2 == 0:
            control_timings.append(controls[index]())
        timings.append(call())
        if controls and index % 2 == 1:
            control_timings.append(controls[index]())
    return timings, control_timings


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


# --- reporting ------------------------------------------------------------------------------


@dataclass
class Verdict:
    path: str
    low: float  # p50 ms at the smallest size
    high: float  # p50 ms at the largest size
    ratio: float
    adjusted: float | None  # the same ratio, each p50 divided by its control's p50

    @property
    def passed(self) -> bool:
        return self.ratio <= TARGET_RATIO


def verdicts(results: list[Result]) -> list[Verdict]:
    """Per path: p50 at the smallest size against the largest, and whether within target."""
    sizes = sorted({r.size for r in results})
    rows = []
    for path in PATHS:
        by_size = {r.size: r for r in results if r.path == path}
        first, last = by_size[sizes[0]], by_size[sizes[-1]]
        low, high = first.stat("p50"), last.stat("p50")
        low_control, high_control = first.control_p50(), last.control_p50()
        adjusted = None
        if low_control and high_control:
            adjusted = (high / high_control) / (low / low_control)
        rows.append(Verdict(path, low, high, high / low, adjusted))
    return rows


def section(
    store: Store, args: argparse.Namespace, results: list[Result], info: dict[str, str]
) -> str:
    sizes = sorted({r.size for r in results})
    lines = [
        f"<!-- bench:{BENCHMARK}:{store.kind} -->",
        f"### Intake latency, {store.kind} store",
        "",
        f"Run {info['date']}, commit {info['commit']}: `python -m bench.intake_latency "
        f"--sizes {','.join(map(str, sizes))} --samples {args.samples} --store {store.kind}` "
        f"({args.warmup} warm-up calls of each kind before measuring at each size).",
        "",
        "| existing cases | path | cases when measured | samples | p50 ms | p95 ms | p99 ms "
        "| mean ms | p50 CPU ms | load | control p50 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        stats = " | ".join(f"{r.stat(name):.2f}" for name in ("p50", "p95", "p99", "mean"))
        control = r.control_p50()
        lines.append(
            f"| {r.size:,} | {r.path} | {r.cases_at_start:,} | {len(r.timings)} | {stats} "
            f"| {r.stat('p50', cpu=True):.2f} | {r.load:.2f} "
            f"| {'-' if control is None else f'{control:.2f}'} |"
        )
    if len(sizes) > 1:
        lines += [
            "",
            f"| path | p50 at {sizes[0]:,} ms | p50 at {sizes[-1]:,} ms | ratio | target "
            "| result | ratio against control |",
            "|---|---:|---:|---:|---|---|---:|",
        ]
        for v in verdicts(results):
            adjusted = "-" if v.adjusted is None else f"{v.adjusted:.2f}x"
            lines.append(
                f"| {v.path} | {v.low:.2f} | {v.high:.2f} | {v.ratio:.2f}x "
                f"| <= {TARGET_RATIO}x | {'PASS' if v.passed else 'FAIL'} | {adjusted} |"
            )
    notes = [
        'Times are wall clock per call; "p50 CPU ms" is this process\'s CPU time per call '
        'and "load" the 1-minute load average when that row\'s measuring began: when the '
        "wall-clock figures grow and the CPU ones do not, look for other work on the machine "
        '(or I/O) before blaming the store. "control p50" is the p50 of the same calls, '
        f"made alternately with the measured ones, on a second store of the same kind that "
        f'started with {CONTROL_SIZE} cases: both see the same load, so "ratio against '
        "control\" (each p50 divided by its control's) shows what the store size alone does. "
        "PASS/FAIL is judged on the plain ratio.",
        f"Machine: {info['machine']}.",
        f"Python {platform.python_version()}, eventsourcing {version('eventsourcing')}; "
        f"store: {store.description}.",
        f"Store at the end: {info['cases']} cases, {info['events']} events, "
        f"{info['disk']} on disk; seeding and measuring took {info['elapsed']}.",
    ]
    if info.get("reused"):
        notes.append(
            f"The store was too small for every duplicate to hit a different request: "
            f"{info['reused']} duplicates went to a request already sent again."
        )
    lines += ["", *notes, f"<!-- /bench:{BENCHMARK}:{store.kind} -->"]
    return "\n".join(lines) + "\n"


def write_section(output: Path, kind: str, text: str) -> None:
    """Replace this benchmark's section for this store, or add it (and the file) if new."""
    begin, end = f"<!-- bench:{BENCHMARK}:{kind} -->", f"<!-- /bench:{BENCHMARK}:{kind} -->"
    current = output.read_text() if output.exists() else INTRO
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text, current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(updated)


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


# --- command line ---------------------------------------------------------------------------
def sizes_argument(text: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError("comma-separated case counts, e.g. 100,10000") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("at least one positive case count")
    return sizes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.intake_latency",
        description="Intake latency (validate + dedup + record) as the store grows.",
    )
    parser.add_argument(
        "--sizes",
        type=sizes_argument,
        default=[100, 10_000, 100_000],
        help="existing cases to measure at, comma-separated (default 100,10000,100000)",
    )
    parser.add_argument(
        "--samples", type=int, default=300, help="timed calls per path and size (default 300)"
    )
    parser.add_argument(
        "--warmup", type=int, default=20, help="untimed calls of each kind per size (default 20)"
    )
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--output",
        default=str(DEFAULT_OUTPUT),
        help="Markdown file whose section for this store is replaced (default "
        "docs/benchmarks.md); '-' prints only",
    )
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("CP247_PG_ADMIN_URL") or DEFAULT_PG_ADMIN_URL,
        help="PostgreSQL to create the throw-away database on (default $CP247_PG_ADMIN_URL "
        f"or {DEFAULT_PG_ADMIN_URL})",
    )
    parser.add_argument("--seed", type=int, default=2026, help="picks the duplicates")
    parser.add_argument(
        "--no-control",
        dest="control",
        action="store_false",
        help=f"no control store ({CONTROL_SIZE} cases, timed alternately with the measured one)",
    )
    args = parser.parse_args(argv)
    if args.samples < 1 or args.warmup < 0:
        parser.error("--samples must be at least 1 and --warmup not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    with ExitStack() as stack:
        store = stack.enter_context(open_store(args.store, args.pg_admin_url))
        bench = Bench(store.app, random.Random(args.seed))
        control = None
        if args.control:
            control_store = stack.enter_context(open_store(args.store, args.pg_admin_url))
            control = Bench(control_store.app, random.Random(args.seed + 1))
            control.grow(CONTROL_SIZE)
        results: list[Result] = []
        for size in args.sizes:
            print(f"{args.store}: measuring with {size:,} existing cases", file=sys.stderr)
            measured = bench.measure(size, args.samples, args.warmup, control)
            for r in measured:
                control_p50 = r.control_p50()
                print(
                    f"  {r.path}: p50 {r.stat('p50'):.2f} ms, p95 {r.stat('p95'):.2f} ms, "
                    f"p99 {r.stat('p99'):.2f} ms, mean {r.stat('mean'):.2f} ms, "
                    f"p50 CPU {r.stat('p50', cpu=True):.2f} ms, load {r.load:.2f}"
                    + ("" if control_p50 is None else f", control p50 {control_p50:.2f} ms"),
                    file=sys.stderr,
                )
            results += measured
        info = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit(),
            "machine": machine(),
            "cases": f"{bench.cases:,}",
            "events": f"{store.app.recorder.max_notification_id() or 0:,}",
            "disk": megabytes(store.size_on_disk()),
            "elapsed": duration(time.monotonic() - began),
            "reused": str(bench.reused_duplicates) if bench.reused_duplicates else "",
        }
        text = section(store, args, results, info)
    print(text)
    if args.output != "-":
        write_section(Path(args.output), args.store, text)
        print(f"wrote the {args.store} section of {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
