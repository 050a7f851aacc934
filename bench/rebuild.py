"""Timeline projection rebuild: events/s, and query latency as the store grows.

Generates ``--events`` contract-valid upstream messages (``events.registry.encode``) for
``--events / 10`` synthetic cases, ten each across intake, notification, preservation,
isp_liaison and mla (request received, acknowledgement, order issued and delivered, provider
acknowledgement, MLA expected, a notice, then either an MLA request and its decision or the
data preserved). Cases start 30 minutes apart from 2021 on and finish within that time, so
the outboxes, held in memory and served through a ``Reader``, merge case after case. The
timeline application is built as the product builds it (``make_application``, SQLite,
encrypted) on a temporary store and ``TimelineApplication.rebuild`` runs in batches of
``--batch`` events (one batch = ``batch / 10`` cases). After the first of each ``--sizes``
cases it pauses to time ``case_timeline`` on random built cases and ``statistics`` on random
built years, ``--samples`` calls each, one at a time. The rate excludes generation and pauses.

    python -m bench.rebuild [--json OUT.json] [--events 1000000] [--sizes 100,10000,100000]
                            [--samples 200] [--batch 1000] [--profile OUT.prof] [--seed 7]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from bench.stats import machine, summary
from cp247.bootstrap import make_application
from cp247.config import Settings
from events import registry
from events.contract import position_only
from services.catalogue import producers
from services.timeline.app import RebuildProgress, TimelineApplication

EVENTS_PER_CASE = 10
CASE_SPACING = timedelta(minutes=30)  # a case's events all come before the next case's
START = datetime(2021, 1, 4, 8, 0, tzinfo=UTC)
TARGET_RATE = 5_000
TARGET_RATIO = 1.5
SOURCES = producers()

POLICE = {"username": "poe", "role": "police"}
PROSECUTION = {"username": "pat", "role": "prosecution"}
COUNTRIES = ("US", "FR", "DE", "IT", "ES", "GB", "NL", "PL", "AT", "CH")
TYPES = ("preservation", "preservation", "preservation", "traffic_disclosure", "mla_stored_data")
AUTHORITY = {"country": "US", "contact_point": "Federal Cyber Crime Duty Desk", "person": None,
             "email": "cp247@us.example.org", "reference": "BENCH", "time_zone": "UTC",
             "city": None, "phone": None, "fax": None, "date": None}  # fmt: skip
IDENTIFIERS = [{"kind": "ip", "value": "2001:db8::1", "port": 443, "observed_at": None,
                "observed_at_text": None, "service": "https", "observed_at_zone": None,
                "value_original": None, "flags": ["documentation"]}]  # fmt: skip
DETAILS = {"offence": {"description": "ransomware attack", "provisions": "Arts 2-8",
           "summary_of_facts": "systems encrypted"}, "necessity": "logs kept 7 days"}  # fmt: skip


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def uid(rng: random.Random) -> str:
    return str(UUID(int=rng.getrandbits(128), version=4))


def case_events(number: int, rng: random.Random) -> list[tuple[datetime, str, str, dict]]:
    """The ten (time, source, event, payload) of one case, oldest first."""
    t0 = START + number * CASE_SPACING
    case_id, request_id, order_id, mla_id = uid(rng), uid(rng), uid(rng), uid(rng)
    country, kind = rng.choice(COUNTRIES), rng.choice(TYPES)
    ids = {"case_id": case_id, "request_id": request_id}
    order = {"order_id": order_id, "case_id": case_id}
    acknowledged = t0 + timedelta(seconds=rng.uniform(1, 300))
    issued = t0 + timedelta(seconds=rng.uniform(60, 900))
    delivered = issued + timedelta(seconds=rng.uniform(1, 30))
    provider_ack = delivered + timedelta(seconds=rng.uniform(10, 600))
    expires = iso(issued + timedelta(days=90))
    events = [
        (t0, "intake", "CaseOpened", {**ids, "direction": "incoming", "type": kind,
         "urgency": "urgent", "counterpart_country": country, "actor": PROSECUTION}),
        (t0 + timedelta(milliseconds=5), "intake", "RequestReceived", {**ids,
         "direction": "incoming", "type": kind, "urgency": "urgent", "received_via": "email",
         "counterpart_country": country, "requesting_authority": AUTHORITY,
         "identifiers": IDENTIFIERS, "data_types": ["subscriber", "traffic"],
         "period_days": 90, "mla_intended": True, "warnings": [], "completeness": 1.0,
         "details": DETAILS, "received_at": iso(t0), "our_reference": f"CP247-{number}",
         "actor": PROSECUTION}),
        (t0 + timedelta(milliseconds=200), "notification", "DutyAlertRaised", {
         "alert_id": uid(rng), **ids, "type": kind, "urgency": "urgent",
         "counterpart_country": country, "reason": "urgent incoming request",
         "our_reference": f"CP247-{number}"}),
        (acknowledged, "notification", "ReceiptAcknowledged", {"notice_id": uid(rng), **ids,
         "recipient": AUTHORITY, "our_reference": f"CP247-{number}", "channel": "email"}),
        (issued, "preservation", "OrderIssued", {**order, "request_id": request_id,
         "provider_id": "telco-a", "identifiers": IDENTIFIERS,
         "data_types": ["subscriber", "traffic"], "legal_basis": "Art 29",
         "direction": "incoming", "mla_intended": True, "issued_at": iso(issued),
         "expires_at": expires, "actor": PROSECUTION}),
        (issued + timedelta(milliseconds=300), "mla", "MlaExpected", {"follow_up_id": uid(rng),
         **ids, "order_id": order_id, "direction": "incoming", "due_by": expires}),
        (delivered, "isp_liaison", "OrderDelivered", {**order, "request_id": request_id,
         "provider_id": "telco-a", "identifiers": IDENTIFIERS,
         "data_types": ["subscriber", "traffic"], "legal_basis": "Art 29",
         "issued_at": iso(issued), "expires_at": expires, "channel": "api",
         "document": None}),  # signed beside delivery since issue 19
        (provider_ack, "isp_liaison", "ProviderAcknowledgedOrder", {**order,
         "provider_id": "telco-a", "acknowledged_at": iso(provider_ack),
         "actor": {"username": "telco-a", "role": "isp"}}),
    ]  # fmt: skip
    if rng.random() < 0.3:  # an MLA request arrives and is decided
        recorded = provider_ack + timedelta(seconds=rng.uniform(10, 60))
        decided = recorded + timedelta(seconds=rng.uniform(10, 60))
        mla = {"mla_id": mla_id, "case_id": case_id, "direction": "incoming",
               "order_ids": [order_id], "actor": PROSECUTION}  # fmt: skip
        events += [
            (recorded, "mla", "MlaRecorded", {**mla, "stage": "pre_trial",
             "authority": "Prosecutor General", "reference": f"MLA-{number}",
             "date": recorded.date().isoformat(), "status": "received"}),
            (decided, "mla", "MlaStatusChanged", {**mla, "status": "produced", "note": "produced"}),
        ]  # fmt: skip
    else:  # the provider preserves; the MLA service's bookkeeping (not on the timeline)
        preserved = provider_ack + timedelta(seconds=rng.uniform(10, 120))
        events += [
            (preserved, "isp_liaison", "DataPreserved", {**order, "request_id": request_id,
             "provider_id": "telco-a", "note": "copied", "records": 12,
             "preserved_at": iso(preserved), "actor": {"username": "telco-a", "role": "isp"}}),
            (issued + timedelta(milliseconds=301), "mla", "MlaCaseOpened", {"case_id": case_id}),
        ]  # fmt: skip
    return sorted(events, key=lambda e: e[0])


def generate(cases: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    """Every upstream's outbox, as contract messages with notification ids from 1."""
    rng = random.Random(seed)
    outboxes: dict[str, list[dict[str, Any]]] = {source: [] for source in SOURCES}
    defaults: dict[str, dict[str, Any]] = {}  # what the contract adds to each kind's payload
    for number in range(cases):
        for at, source, event, payload in case_events(number, rng):
            outbox = outboxes[source]
            if registry.is_private(event):  # the producer's bookkeeping: a position only
                outbox.append(position_only(source, len(outbox) + 1))
                continue
            body = {
                "source": source,
                "notification_id": len(outbox) + 1,
                "event": event,
                "version": registry.get(event).version,
                "originator_id": payload["case_id"],
                "originator_version": 1,
                "recorded_at": iso(at),
                "payload": payload,
            }
            if event not in defaults:  # each kind once through the producers' own check
                encoded = registry.encode(**{k: v for k, v in body.items() if k != "version"})
                defaults[event] = {k: encoded["payload"][k] for k in encoded["payload"].keys()
                                   - payload.keys()}  # fmt: skip
                payload.update(defaults[event])
                assert encoded == body, f"{event} is not in its canonical contract form"
            else:
                payload.update(defaults[event])
            outbox.append(body)
    return outboxes


def latencies(call: Any, arguments: list[Any]) -> dict[str, float]:
    for argument in arguments[:10]:  # warm-up
        call(argument)
    timings = []
    for argument in arguments:
        started = time.perf_counter()
        call(argument)
        timings.append((time.perf_counter() - started) * 1000)
    return summary(timings)


def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    cases = args.events // EVENTS_PER_CASE
    sizes = [size for size in args.sizes if size <= cases]
    if args.batch % EVENTS_PER_CASE or any(size * EVENTS_PER_CASE % args.batch for size in sizes):
        raise SystemExit("--batch must end batches on the --sizes case counts")
    print(f"generating {cases * EVENTS_PER_CASE:,} messages for {cases:,} cases", file=sys.stderr)
    outboxes = generate(cases, args.seed)
    case_ids = [body["payload"]["case_id"] for body in outboxes["intake"][::2]]
    generated = time.perf_counter()
    print(f"generated in {generated - began:.1f} s", file=sys.stderr)

    def read(source: str, start: int, limit: int) -> list[dict[str, Any]]:
        return outboxes[source][start - 1 : start - 1 + limit]

    rng = random.Random(args.seed + 1)
    latency: dict[str, dict[str, dict[str, float]]] = {
        "timeline": {},
        "statistics": {},
        "statistics_uncached": {},  # the year's report and months read afresh on every call
    }
    paused, paused_cpu = [0.0], [0.0]
    with tempfile.TemporaryDirectory(prefix="cp247-rebuild-") as data_dir:
        timeline: TimelineApplication = make_application("timeline", Settings.from_env(data_dir))

        def progress(step: RebuildProgress) -> None:
            built = step.events // EVENTS_PER_CASE
            if step.events % 100_000 == 0:
                rate = step.events / (step.seconds - paused[0])
                print(f"  {step.events:,} events, {rate:,.0f} events/s", file=sys.stderr)
            if built not in sizes:
                return
            pause, pause_cpu = time.perf_counter(), time.process_time()
            years = sorted({(START + n * CASE_SPACING).year for n in range(built)})
            sample = [rng.choice(case_ids[:built]) for _ in range(args.samples)]
            latency["timeline"][str(built)] = latencies(timeline.case_timeline, sample)
            sample = [rng.choice(years) for _ in range(args.samples)]
            latency["statistics"][str(built)] = latencies(timeline.statistics, sample)

            def uncached(year: int) -> dict[str, Any]:
                timeline.__dict__.pop("_reports", None)
                timeline.__dict__.pop("_months", None)
                return timeline.statistics(year)

            latency["statistics_uncached"][str(built)] = latencies(uncached, sample)
            print(f"  measured at {built:,} cases: {latency['timeline'][str(built)]} "
                  f"{latency['statistics'][str(built)]}", file=sys.stderr)  # fmt: skip
            paused[0] += time.perf_counter() - pause
            paused_cpu[0] += time.process_time() - pause_cpu

        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        cpu = time.process_time()
        done = timeline.rebuild(read, progress=progress, batch_size=args.batch)
        cpu = time.process_time() - cpu - paused_cpu[0]
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        positions = {source: timeline.position(source) for source in SOURCES}
        assert positions == {s: len(outboxes[s]) for s in SOURCES}, positions
        timeline.close()
    seconds = done.seconds - paused[0]
    return {
        "bench": "rebuild",
        "store": "sqlite",
        "events": done.events,
        "cases": cases,
        "seconds": round(seconds, 2),
        "events_per_second": round(done.events / seconds),
        # This process only (the decoding worker has the other core): what an idle machine
        # would reach when the worker keeps up; wall time suffers on a shared machine.
        "cpu_seconds": round(cpu, 2),
        "events_per_cpu_second": round(done.events / cpu),
        "load_average": round(os.getloadavg()[0], 1),
        "sizes": sizes,
        "latency_ms": latency,
        "total_seconds": round(time.perf_counter() - began, 1),
        "machine": machine(),
    }


def table(result: dict[str, Any]) -> str:
    rate = result["events_per_second"]
    lines = [
        f"rebuild: {result['events']:,} events ({result['cases']:,} cases) in "
        f"{result['seconds']} s = {rate:,} events/s "
        f"[{'ok' if rate >= TARGET_RATE else 'MISSED'}: >= {TARGET_RATE:,}]",
        f"  main process CPU {result['cpu_seconds']} s = {result['events_per_cpu_second']:,} "
        f"events per CPU second (load average {result['load_average']} on this machine)",
        f"{'query':<12}{'cases':>8}{'p50':>9}{'p95':>9}{'p99':>9}{'mean':>9}  (ms)",
    ]
    for query, by_size in result["latency_ms"].items():
        for size, figures in by_size.items():
            lines.append(
                f"{query:<12}{int(size):>8,}"
                + "".join(f"{figures[k]:>9.3f}" for k in ("p50", "p95", "p99", "mean"))
            )
        sizes = list(by_size)
        if len(sizes) > 1:
            ratio = by_size[sizes[-1]]["p50"] / by_size[sizes[0]]["p50"]
            verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
            lines.append(
                f"{query}: p50 at {int(sizes[-1]):,} cases is {ratio:.2f}x the p50 at "
                f"{int(sizes[0]):,} [{verdict}: <= {TARGET_RATIO}x]"
            )
    lines.append(f"total {result['total_seconds']} s on {result['machine']}")
    return "\n".join(lines)


def numbers(text: str) -> list[int]:
    return [int(n) for n in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the result here as JSON")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sizes", type=numbers, default=[100, 10_000, 100_000])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1000, help="events per transaction")
    parser.add_argument("--profile", help="write a cProfile of the rebuild here")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    result = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
