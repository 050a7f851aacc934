"""End-to-end latency, pipeline throughput and memory per process, embedded and distributed.

A request is timed from the start of its ``POST /api/v1/requests`` until

- **order in the ISP's hands**: the provider's system is integrated by webhook, as an ISP with
  a 24/7 desk would be: cp247 pushes a signed notice of each new order, the provider fetches
  the order (``GET /api/v1/isp/orders/{id}``: the time measured) and acknowledges it; a poll
  every 5 s catches a push that did not arrive;
- **receipt confirmation recorded**: the recorded time of the ``ReceiptAcknowledged`` entry on
  the case's timeline (the notification service records it once the requesting CP's mail
  server accepted the confirmation), read after the phase for up to ``--timeline-sample``
  requests.

Phases, per deployment: *light* (one request at a time), *max* (``--clients`` registering as
fast as they are answered for ``--seconds``, then drained: throughput is the requests whose
order reached the inbox and whose receipt confirmation reached the requesting CP's mailbox,
divided by the time from the first POST to the last of those), then open-loop load at 50% and
90% of that throughput (requests sent on a fixed schedule; latency counted from the scheduled
time, so a slow answer cannot hide the queue behind it). Resident memory (VmRSS) of every
process is read when idle and every second under load (the maximum is reported).

Deployments: ``embedded`` (``cp247 run`` in its own process, SQLite) and ``distributed``
(every service a ``nameko run`` process on this machine's RabbitMQ and PostgreSQL, in a fresh
vhost and database, with ``--replicas`` processes per service; ``--replicas 2`` runs the max
phase only, for the scale-out figure).

    .venv/bin/python -m bench.pipeline --mode embedded --json /tmp/embedded.json
    .venv/bin/python -m bench.pipeline --mode distributed --replicas 1 --seconds 30
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the clusters and drivers the tests use

from slice_driver import Api, Cli, cli_env, free_port, identities, wait_for  # noqa: E402
from smtp_sink import Mailbox, serving  # noqa: E402

from bench.stats import emit, machine, summary  # noqa: E402
from cp247.clock import parse_iso  # noqa: E402
from cp247.samples import preservation_request  # noqa: E402
from cp247.webhooks import EVENT_ORDER_ISSUED, SIGNATURE_HEADER, verify  # noqa: E402
from services.catalogue import BEHIND_GATEWAY  # noqa: E402

RECEIPT_SUBJECT = "Confirmation of receipt"
STORES = BEHIND_GATEWAY
WEBHOOK_PROVIDER = "telco-w"  # the provider the load's orders go to, integrated by webhook
FALLBACK_POLL_SECONDS = 5.0


@dataclass
class Deployment:
    """What the load needs from a running cp247, whichever way it runs."""

    mode: str
    api: Any
    tokens: dict[str, str]
    cli: Cli
    mailbox: ReceiptLog
    processes: dict[str, int]  # name -> pid
    count_events: Callable[[], int]  # events in every service store
    # Broker messages so far, summed over every process: {"published", "delivered"}.
    count_messages: Callable[[], dict[str, float]] = lambda: {}


# --- what a request costs: CPU of every process, messages on the broker ------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # the fields after "(comm)"


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User and system CPU time of a process (with its reaped children's, if asked)."""
    try:
        fields = _stat(pid)
    except (OSError, ValueError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLOCK_TICKS


def server_cpu() -> dict[str, float]:
    """CPU so far of this machine's RabbitMQ (beam.smp) and PostgreSQL (every backend, and
    what the postmaster reaped of backends that ended)."""
    found = {"rabbitmq": 0.0, "postgresql": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            parent = int(_stat(int(entry.name))[1])
        except (OSError, ValueError):
            continue
        if comm == "beam.smp":
            found["rabbitmq"] += cpu_seconds(int(entry.name))
        elif comm == "postgres":
            postmaster = parent == 1 or _comm(parent) != "postgres"
            found["postgresql"] += cpu_seconds(int(entry.name), children=postmaster)
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cpu_of(deployment: Deployment) -> dict[str, float]:
    used = {name: cpu_seconds(pid) for name, pid in deployment.processes.items()}
    if deployment.mode == "distributed":
        used.update(server_cpu())
    return used


class ReceiptLog(Mailbox):
    """The requesting CPs' mail server: notes when each receipt confirmation arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.receipts: dict[str, float] = {}  # recipient -> arrival (wall clock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        arrived = time.time()
        subject = str(make_header(decode_header(message_from_bytes(envelope.content)["Subject"])))
        if subject.startswith(RECEIPT_SUBJECT):
            for recipient in envelope.rcpt_tos:
                self.receipts.setdefault(recipient.lower(), arrived)
        return "250 OK"


def address(reference: str) -> str:
    return f"{reference.lower()}@us.example"


@dataclass
class Sent:
    reference: str
    start: float  # wall clock: scheduled (open loop) or actual (closed loop) start
    status: int = 0
    case_id: str = ""
    answered: float = 0.0


@dataclass
class Phase:
    name: str
    sent: list[Sent] = field(default_factory=list)
    begun: float = 0.0
    rss_peak: dict[str, int] = field(default_factory=dict)


class Provider:
    """The ISP's system, integrated as cp247 expects: cp247 pushes a signed notice to its
    webhook for each new order; it checks the signature, fetches the order from its inbox
    (the order is then in hand: that is the time measured) and acknowledges it. A slow poll
    of the inbox catches what a push might miss, as a careful ISP's system would."""

    def __init__(self, deployment: Deployment):
        self.api, cli = deployment.api, deployment.cli
        self.seen: dict[str, float] = {}  # case id -> order in hand (wall clock)
        self.errors = 0
        self._stop = threading.Event()
        self._work = ThreadPoolExecutor(4, thread_name_prefix="isp")
        self._fetched: set[str] = set()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        url = f"http://127.0.0.1:{self.server.server_port}/cp247-hook"
        cli.ok("providers", "add", "--id", WEBHOOK_PROVIDER, "--name", "Telco W",
               "--country", "RO", "--webhook", url)  # fmt: skip
        self.secret = bytes.fromhex(cli.ok("providers", "secret", WEBHOOK_PROVIDER))
        self.token = cli.ok("tokens", "issue", "--provider", WEBHOOK_PROVIDER)
        self._threads = [
            threading.Thread(target=self.server.serve_forever, daemon=True, name="isp-hook"),
            threading.Thread(target=self._poll, daemon=True, name="isp-poll"),
        ]

    def __enter__(self) -> Provider:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self.server.shutdown()
        for thread in self._threads:
            thread.join(10)
        self._work.shutdown(wait=True)
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                valid = verify(provider.secret, body, self.headers.get(SIGNATURE_HEADER),
                               time.time())  # fmt: skip
                self.send_response(200 if valid else 401)
                self.end_headers()
                if not valid:
                    provider.errors += 1
                    return
                notice = json.loads(body)
                if notice.get("event") == EVENT_ORDER_ISSUED:
                    provider._work.submit(provider._take, notice["order_id"])

            def log_message(self, *args: object) -> None:
                pass

        return Hook

    def _take(self, order_id: str) -> None:
        """Fetch the order the notice names, note it in hand, acknowledge it (once)."""
        with self._lock:
            if order_id in self._fetched:
                return
            self._fetched.add(order_id)
        try:
            status, order = self.api.call("GET", f"/api/v1/isp/orders/{order_id}", self.token)
        except OSError:
            status, order = 0, None
        if status != 200:
            self.errors += 1
            with self._lock:
                self._fetched.discard(order_id)  # the poll tries again
            return
        self.seen.setdefault(order["case_id"], time.time())
        try:
            status, _ = self.api.call(
                "POST", f"/api/v1/isp/orders/{order_id}/acknowledge", self.token
            )
        except OSError:
            status = 0
        if status not in (200, 409):
            self.errors += 1

    def _poll(self) -> None:
        while not self._stop.wait(FALLBACK_POLL_SECONDS):
            try:
                status, inbox = self.api.call("GET", "/api/v1/isp/orders?status=issued", self.token)
            except OSError:
                status, inbox = 0, None
            if status != 200:
                self.errors += 1
                continue
            for order in inbox["orders"]:
                self._work.submit(self._take, order["order_id"])


class Load:
    """Registers requests from the prosecution CP (whose orders are issued at once)."""

    def __init__(self, deployment: Deployment, prefix: str):
        self.deployment, self.prefix = deployment, prefix
        self.numbers = iter(range(10**9))
        self.lock = threading.Lock()
        self.errors: list[str] = []

    def one(self, start: float | None = None) -> Sent:
        with self.lock:
            reference = f"{self.prefix}-{next(self.numbers)}"
        body = preservation_request(reference, provider_id=WEBHOOK_PROVIDER)
        body["requesting_authority"]["email"] = address(reference)
        sent = Sent(reference, start if start is not None else time.time())
        try:
            status, answer = self.deployment.api.call(
                "POST", "/api/v1/requests", self.deployment.tokens["prosecution"], body
            )
        except OSError as exc:
            status, answer = 0, str(exc)
        sent.status, sent.answered = status, time.time()
        if status == 201:
            sent.case_id = answer["case_id"]
        else:
            self.errors.append(f"{status}: {str(answer)[:200]}")
        return sent


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@contextmanager
def sampling_memory(deployment: Deployment, phase: Phase) -> Iterator[None]:
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for name, pid in deployment.processes.items():
                phase.rss_peak[name] = max(phase.rss_peak.get(name, 0), rss_kib(pid))
            stop.wait(1.0)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def drained(deployment: Deployment, provider: Provider, phase: Phase, timeout: float) -> None:
    """Wait until every accepted request's order is in the inbox and its receipt went out."""
    accepted = [s for s in phase.sent if s.case_id]

    def done() -> bool:
        receipts = deployment.mailbox.receipts
        return all(
            s.case_id in provider.seen and address(s.reference) in receipts for s in accepted
        )

    wait_for(done, timeout=timeout, pause=0.2, what=f"the {phase.name} phase to drain")


def light(deployment: Deployment, load: Load, provider: Provider, count: int) -> Phase:
    phase = Phase("light", begun=time.time())
    for _ in range(count):
        sent = load.one()
        phase.sent.append(sent)
        if sent.case_id:
            wait_for(lambda s=sent: s.case_id in provider.seen, timeout=60, pause=0.005)
        time.sleep(0.1)
    drained(deployment, provider, phase, 120)
    return phase


def saturate(
    deployment: Deployment, load: Load, provider: Provider, clients: int, seconds: float
) -> Phase:
    phase = Phase("max", begun=time.time())
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            phase.sent.append(load.one())

    with sampling_memory(deployment, phase):
        threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        drained(deployment, provider, phase, 300)
    return phase


def open_loop(
    deployment: Deployment, load: Load, provider: Provider, name: str, rate: float, seconds: float
) -> Phase:
    """Requests on a fixed schedule, whatever the answers do."""
    phase = Phase(name, begun=time.time())
    count = max(1, int(rate * seconds))
    begun = time.time() + 0.2
    with sampling_memory(deployment, phase), ThreadPoolExecutor(64) as pool:
        futures = []
        for i in range(count):
            scheduled = begun + i / rate
            time.sleep(max(0.0, scheduled - time.time()))
            futures.append(pool.submit(load.one, scheduled))
        phase.sent = [f.result() for f in futures]
        drained(deployment, provider, phase, 300)
    return phase


def receipt_times(deployment: Deployment, phase: Phase, sample: int) -> dict[str, float]:
    """Case id -> recorded time of its receipt confirmation, for a sample of the phase."""
    accepted = [s for s in phase.sent if s.case_id]
    chosen = random.Random(7).sample(accepted, min(sample, len(accepted)))
    recorded: dict[str, float] = {}
    for sent in chosen:

        def entry(s: Sent = sent) -> dict | None:
            path = f"/api/v1/cases/{s.case_id}/timeline"
            status, body = deployment.api.call("GET", path, deployment.tokens["police"])
            if status != 200:
                return None
            return next((e for e in body["entries"] if e["event"] == "ReceiptAcknowledged"), None)

        found = wait_for(entry, timeout=60, pause=0.2, what=f"the receipt of {sent.reference}")
        recorded[sent.case_id] = parse_iso(found["at"]).timestamp()
    return recorded


def phase_figures(
    deployment: Deployment, provider: Provider, phase: Phase, sample: int
) -> dict[str, Any]:
    accepted = [s for s in phase.sent if s.case_id]
    inbox_ms = [(provider.seen[s.case_id] - s.start) * 1000 for s in accepted]
    answer_ms = [(s.answered - s.start) * 1000 for s in accepted]
    receipts = receipt_times(deployment, phase, sample)
    receipt_ms = [(receipts[s.case_id] - s.start) * 1000 for s in accepted if s.case_id in receipts]
    mailed = deployment.mailbox.receipts
    last = max(max(provider.seen[s.case_id], mailed[address(s.reference)]) for s in accepted)
    first = min(s.start for s in accepted)
    figures: dict[str, Any] = {
        "requests": len(phase.sent),
        "accepted": len(accepted),
        "refused": len(phase.sent) - len(accepted),
        "latency_ms": {
            "answer": summary(answer_ms),
            "order in ISP inbox": summary(inbox_ms),
            "receipt confirmation recorded": summary(receipt_ms),
        },
        "pipeline_rps": round(len(accepted) / max(last - first, 1e-9), 2),
        "seconds": round(last - first, 1),
    }
    if phase.rss_peak:
        figures["rss_peak_mib"] = {k: round(v / 1024, 1) for k, v in phase.rss_peak.items()}
    return figures


def measure(deployment: Deployment, args: argparse.Namespace, say: Callable[[str], None]) -> dict:
    result: dict[str, Any] = {
        "bench": "pipeline",
        "mode": deployment.mode,
        "replicas": args.replicas if deployment.mode == "distributed" else 1,
        "machine": machine(),
        "options": {"clients": args.clients, "seconds": args.seconds, "light": args.light},
    }
    result["rss_idle_mib"] = {
        k: round(rss_kib(pid) / 1024, 1) for k, pid in deployment.processes.items()
    }
    load = Load(deployment, f"US-BENCH-{deployment.mode[:4].upper()}-{os.getpid()}")
    phases: dict[str, Any] = {}
    with Provider(deployment) as provider:
        for _ in range(5):  # first calls compile templates, open pools, fill caches
            load.one()
        if args.replicas == 1:
            say(f"{deployment.mode}: light load, {args.light} requests one at a time")
            phases["light"] = phase_figures(
                deployment, provider, light(deployment, load, provider, args.light), args.sample
            )
        say(f"{deployment.mode}: max, {args.clients} clients for {args.seconds:g} s")
        events_before = deployment.count_events()
        cpu_before, messages_before = cpu_of(deployment), deployment.count_messages()
        peak = saturate(deployment, load, provider, args.clients, args.seconds)
        time.sleep(2)  # the provider's acknowledgements of the last orders travel on
        cpu_after, messages_after = cpu_of(deployment), deployment.count_messages()
        events = deployment.count_events() - events_before
        phases["max"] = phase_figures(deployment, provider, peak, args.sample)
        accepted = phases["max"]["accepted"]
        phases["max"]["events_per_request"] = round(events / max(accepted, 1), 2)
        # What one request cost: CPU milliseconds per process (broker and database included)
        # and broker messages, over the max phase and its drain.
        per_process = {
            name: round((cpu_after[name] - cpu_before.get(name, 0.0)) * 1000 / max(accepted, 1), 2)
            for name in cpu_after
        }
        phases["max"]["cpu_ms_per_request"] = {
            "total": round(sum(per_process.values()), 1),
            "by_process": per_process,
        }
        if messages_after:
            phases["max"]["messages_per_request"] = {
                kind: round((messages_after[kind] - messages_before[kind]) / max(accepted, 1), 2)
                for kind in messages_after
            }
        phases["max"]["intake_rps"] = round(accepted / args.seconds, 2)
        top = phases["max"]["pipeline_rps"]
        say(f"{deployment.mode}: max {top} requests/s through the pipeline")
        if args.replicas == 1:
            for share in (0.5, 0.9):
                name = f"{int(share * 100)}%"
                say(f"{deployment.mode}: {name} of max = {share * top:.1f} requests/s")
                phase = open_loop(
                    deployment, load, provider, name, share * top, args.seconds * 2 / 3
                )
                phases[name] = phase_figures(deployment, provider, phase, args.sample)
                phases[name]["offered_rps"] = round(share * top, 2)
        result["provider_errors"] = provider.errors
    result["phases"] = phases
    result["errors"] = load.errors[:20]
    return result


# --- deployments ------------------------------------------------------------------------------
@contextmanager
def embedded(tmp: Path) -> Iterator[Deployment]:
    box = ReceiptLog()
    with serving(box) as (_, smtp_port):
        data = tmp / "data"
        env = cli_env(
            CP247_SMTP_HOST="127.0.0.1",
            CP247_SMTP_PORT=str(smtp_port),
            CP247_SMTP_FROM="cp247@cp.example.ro",
            CP247_OUTBOUND_ALLOWED_HOSTS="127.0.0.1",  # the provider's webhook, on loopback
        )
        port = free_port()
        log = (tmp / "cp247-run.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "cp247.cli", "run", "--port", str(port)]
            + ["--data-dir", str(data)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        api = Api(f"http://127.0.0.1:{port}")
        try:
            wait_for(lambda: _ready(api), timeout=60, pause=0.2, what="cp247 run to be ready")
            cli = Cli(env, str(data))
            yield Deployment(
                "embedded",
                api,
                identities(cli),
                cli,
                box,
                {"cp247 run": server.pid},
                _counter(data, None),
            )
        finally:
            server.terminate()
            server.wait(30)
            log.close()


@contextmanager
def distributed(tmp: Path, replicas: int) -> Iterator[Deployment]:
    from distributed_cluster import running_cluster

    box = ReceiptLog()
    # Pools big enough for load (tests keep them small to share the server with other runs).
    pools = {f"{s.upper()}_POSTGRES_POOL_SIZE": "4" for s in (*STORES, "gateway")}
    extra = {**pools, "CP247_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1"}  # the provider's webhook
    with running_cluster(tmp, replicas, mailbox=box, extra_env=extra) as cluster:
        pids = {key: process.pid for key, process in cluster.processes.items()}

        def count_messages() -> dict[str, float]:
            def total(name: str) -> float:
                return sum(cluster.metric_total(key, name) for key in pids)

            return {
                "published": total("cp247_messages_published_total"),
                "delivered": total("cp247_messages_delivered_total"),
                # Not broker messages: batches redone after a conflict (ADR 014, partitions).
                "batch_setbacks": total("cp247_batch_setbacks_total"),
            }

        yield Deployment(
            "distributed",
            cluster.api,
            cluster.tokens,
            cluster.cli,
            box,
            pids,
            _counter(Path(cluster.env["CP247_DATA_DIR"]), cluster.database_url),
            count_messages,
        )


def _ready(api: Api) -> bool:
    try:
        status, _ = api.call("GET", "/readyz")
    except OSError:
        return False
    return status == 200


def _counter(data_dir: Path, database_url: str | None) -> Callable[[], int]:
    """Counts the events in every service's store (the heads of their notification logs)."""
    if database_url is not None:  # one connection, not an application (and a pool) per store
        import psycopg

        def count_postgres() -> int:
            with psycopg.connect(database_url) as conn:
                return sum(
                    conn.execute(
                        f'SELECT coalesce(max(notification_id), 0) FROM "{s}".{s}_events'
                    ).fetchone()[0]
                    for s in STORES
                )

        return count_postgres

    from cp247.bootstrap import make_application
    from cp247.config import Settings

    settings = Settings(data_dir=data_dir)
    apps: dict[str, Any] = {}

    def count() -> int:
        total = 0
        for name in STORES:
            if name not in apps:
                apps[name] = make_application(name, settings)
            total += apps[name].recorder.max_notification_id() or 0
        return total

    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("embedded", "distributed"), default="embedded")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--clients", type=int, default=12, help="closed-loop clients, max phase")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the max phase")
    parser.add_argument("--light", type=int, default=40, help="requests in the light phase")
    parser.add_argument("--sample", type=int, default=150, help="timelines read per phase")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {text}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="cp247-bench-") as tmp:
        if args.mode == "embedded":
            context = embedded(Path(tmp))
        else:
            context = distributed(Path(tmp), args.replicas)
        say(f"starting {args.mode} ({args.replicas} process(es) per service)")
        with context as deployment:
            say("ready")
            result = measure(deployment, args, say)
    result["total_seconds"] = round(time.monotonic() - started, 1)
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
