"""The distributed cluster used by the distributed tests: every service a separate
``nameko run`` process (or several: ``replicas``) against this machine's RabbitMQ and
PostgreSQL, in a fresh vhost and database per run; with ``definitions``, the vhost is set up
from ``infra/rabbitmq/definitions.json`` before any service starts."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from kombu import Exchange, Queue, binding
from slice_driver import (
    PASSWORD,
    Api,
    Cli,
    cli_env,
    free_port,
    identities,
    preservation_request,
    wait_for,
)
from smtp_sink import Mailbox, serving

from cp247.bootstrap import make_application
from cp247.config import Settings
from cp247.distributed import spawn, stop
from cp247.runtime.application import ServiceApplication
from cp247.runtime.deadletter import DeadLetterSeal
from services.catalogue import NAMES, producers

PG_ADMIN = os.environ.get("CP247_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
METRICS_TOKEN = "test-scrape-token"
AMQP_BASE = os.environ.get("CP247_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672")


SERVICES = NAMES
DEFINITIONS = Path(__file__).resolve().parents[1] / "infra" / "rabbitmq" / "definitions.json"
DEFINITIONS_VHOST = "cp247"
# PostgreSQL connections of each application's pool: kept open, and at most that many more
# at busy times. Two replicas of seven services must fit beside other test runs in this
# machine's max_connections (100).
POOL_SIZE, MAX_OVERFLOW = "2", "1"


def rabbitmqctl(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["rabbitmqctl", "-q", *args],
        input=stdin,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout


def definitions_for(vhost: str) -> dict[str, Any]:
    """infra/rabbitmq/definitions.json, moved from vhost ``cp247`` to ``vhost``."""
    definitions = json.loads(DEFINITIONS.read_text())
    definitions["vhosts"] = [{"name": vhost}]
    for kind in ("exchanges", "queues", "bindings", "policies"):
        for item in definitions.get(kind, []):
            assert item["vhost"] == DEFINITIONS_VHOST, item
            item["vhost"] = vhost
    return definitions


def queues(vhost: str, *columns: str) -> list[dict[str, str]]:
    """``rabbitmqctl list_queues`` of one vhost, a dict per queue."""
    names = ("name", *columns)
    lines = rabbitmqctl("list_queues", "-p", vhost, "--no-table-headers", *names).splitlines()
    return [dict(zip(names, line.split("\t"), strict=True)) for line in lines if line.strip()]


class RoundRobinApi(Api):
    """The API behind a load balancer: each call goes to the next gateway replica."""

    def __init__(self, base_urls: list[str]):
        super().__init__(base_urls[0])
        self._next = itertools.cycle(Api(url) for url in base_urls)

    def call(self, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        return next(self._next).call(*args, **kwargs)


class Cluster:
    def __init__(
        self,
        tmp: Path,
        extra_env: dict[str, str] | None = None,
        replicas: int = 1,
        definitions: bool = True,
    ):
        suffix = uuid.uuid4().hex[:10]
        self.replicas = replicas
        self.definitions = definitions
        self.database = f"cp247_test_{suffix}"
        self.vhost = f"cp247-test-{suffix}"
        admin = re.sub(r"/[^/]*$", "", PG_ADMIN)
        self.database_url = f"{admin}/{self.database}"
        self.amqp_uri = f"{AMQP_BASE}/{quote(self.vhost, safe='')}"
        self.env = cli_env(
            **{
                "AMQP_URI": self.amqp_uri,
                "CP247_DATABASE_URL": self.database_url,
                # One data directory for keys shared by every process, as in a deployment.
                "CP247_DATA_DIR": str(tmp / "shared"),
                "CP247_METRICS_TOKEN": METRICS_TOKEN,  # what Prometheus would send
                **{f"{name.upper()}_POSTGRES_POOL_SIZE": POOL_SIZE for name in SERVICES},
                **{f"{name.upper()}_POSTGRES_MAX_OVERFLOW": MAX_OVERFLOW for name in SERVICES},
                **(extra_env or {}),  # last: a caller's settings win
            }
        )
        # Every process of a service: the first is known by the service's name, the others
        # (replicas) as "<service>@<port>"; all of them consume from the service's queues.
        self.ports = {name: free_port() for name in SERVICES}
        self.gateway_port = self.ports["gateway"]
        self.log_dir = tmp / "logs"
        self.processes: dict[str, subprocess.Popen] = {}
        self.replica_ports: dict[str, int] = {}
        self.api: Api = Api(f"http://127.0.0.1:{self.gateway_port}")
        self.cli = Cli(self.env)

    def create(self) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        if self.definitions:
            self.import_definitions()

    def import_definitions(self) -> None:
        """What operators load into the broker, loaded before any service declares a thing."""
        definitions = definitions_for(self.vhost)
        # On stdin: the broker, not this user, would open a file (and not in a private tmp).
        rabbitmqctl("import_definitions", stdin=json.dumps(definitions))
        wanted = {q["name"] for q in definitions["queues"]}
        # The import runs asynchronously: wait until every queue exists.
        wait_for(
            lambda: wanted <= {q["name"] for q in queues(self.vhost)},
            timeout=30,
            pause=0.5,
            what="the definitions to be imported",
        )

    def start(self, *services: str) -> None:
        """Start the services (all by default), ``replicas`` processes of each."""
        names = services or SERVICES
        for name in names:
            self.processes[name] = spawn(
                name, self.env, self.ports[name], self.log_dir / f"{name}.log"
            )
            for _ in range(self.replicas - 1):
                self._spawn_replica(name)
        if "gateway" in names:
            gateways = [self.gateway_port] + [
                port for key, port in self.replica_ports.items() if key.startswith("gateway@")
            ]
            self.api = RoundRobinApi([f"http://127.0.0.1:{port}" for port in gateways])
        wait_for(self.ready, timeout=120, what=f"{', '.join(names)} to be ready")

    def ready(self) -> bool:
        for name, process in self.processes.items():
            assert process.poll() is None, f"{name} died:\n{self.log(name)}"
        try:
            for name in self.processes:
                health = Api(f"http://127.0.0.1:{self.service_port(name)}")
                status, body = health.call("GET", "/readyz")
                if status != 200 or body.get("status") != "ready":  # the gateway may be degraded
                    return False
        except OSError:
            return False
        return True

    def _spawn_replica(self, name: str) -> str:
        port = free_port()
        key = f"{name}@{port}"
        self.processes[key] = spawn(name, self.env, port, self.log_dir / f"{key}.log")
        self.replica_ports[key] = port
        return key

    def start_replica(self, name: str) -> int:
        """Another process of the same service (competing for the same queues)."""
        key = self._spawn_replica(name)
        wait_for(self.ready, timeout=90, what=f"replica {key} to be ready")
        return self.replica_ports[key]

    def processes_of(self, name: str) -> list[str]:
        """The running processes of a service: its name first, then its replicas' keys."""
        return [key for key in self.processes if key == name or key.startswith(f"{name}@")]

    def stop_service(self, name: str) -> None:
        """Stop every process of the service (``start(name)`` brings as many back)."""
        keys = self.processes_of(name)
        for key in keys:
            self.processes[key].send_signal(signal.SIGTERM)
        for key in keys:
            self.processes.pop(key).wait(30)
            self.replica_ports.pop(key, None)

    def service_port(self, name: str) -> int:
        return self.replica_ports.get(name) or self.ports[name]

    def metric(self, process: str, name: str, **labels: str) -> float:
        """A sample of a Prometheus metric of one process (by service name or replica key)."""
        api = Api(f"http://127.0.0.1:{self.service_port(process)}")
        status, text = api.call("GET", "/metrics", METRICS_TOKEN)
        assert status == 200
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith(f"{name}{{{wanted}}}"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def metric_total(self, process: str, name: str) -> float:
        """Every sample of a Prometheus counter of one process, whatever its labels, summed."""
        api = Api(f"http://127.0.0.1:{self.service_port(process)}")
        status, text = api.call("GET", "/metrics", METRICS_TOKEN)
        assert status == 200
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith((f"{name}{{", f"{name} "))
        )

    def total(self, service: str, name: str, /, **labels: str) -> float:
        """A metric summed over every process of the service."""
        return sum(self.metric(key, name, **labels) for key in self.processes_of(service))

    def application(self, name: str) -> ServiceApplication:
        # The cluster's own keys (events are encrypted at rest with the shared key).
        settings = Settings(
            data_dir=Path(self.env["CP247_DATA_DIR"]), database_url=self.database_url
        )
        return make_application(name, settings)

    def dead_letter_seal(self) -> DeadLetterSeal:
        """Opens what the services put in the dead-letter queue (sealed with the events key)."""
        return DeadLetterSeal.from_settings(Settings(data_dir=Path(self.env["CP247_DATA_DIR"])))

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text()[-4000:] if path.exists() else "(no log)"

    def destroy(self) -> None:
        stop(self.processes)
        try:
            rabbitmqctl("delete_vhost", self.vhost)
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


@contextmanager
def running_cluster(
    tmp: Path,
    replicas: int = 1,
    definitions: bool = True,
    mailbox: Mailbox | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Cluster]:
    """A started cluster with its own mailbox (``cluster.mailbox``, or ``mailbox``) and a
    token per role (``cluster.tokens``: both CPs, two providers, an admin), destroyed
    afterwards."""
    with serving(mailbox) as (box, port):
        smtp = {
            **(extra_env or {}),
            "CP247_SMTP_HOST": "127.0.0.1",
            "CP247_SMTP_PORT": str(port),
            "CP247_SMTP_FROM": "cp247@cp.example.ro",
            # Retention tests: services notice a key destroyed by the CLI within a second.
            "CP247_CASE_KEY_CACHE_SECONDS": "1",
        }
        cluster = Cluster(tmp, smtp, replicas=replicas, definitions=definitions)
        cluster.mailbox = box
        cluster.create()
        try:
            cluster.start()
            cluster.tokens = identities(cluster.cli)
            cluster.cli.ok(
                "users", "add", "--username", "ada", "--role", "admin", "--password", PASSWORD
            )
            cluster.tokens["admin"] = cluster.cli.ok("tokens", "issue", "--username", "ada")
            yield cluster
        finally:
            cluster.destroy()


# --- what several distributed tests do through the API -------------------------------------
def timeline_events(cluster: Cluster, case_id: str) -> list[str]:
    status, timeline = cluster.api.call(
        "GET", f"/api/v1/cases/{case_id}/timeline", cluster.tokens["police"]
    )
    assert status == 200, timeline
    return [entry["event"] for entry in timeline["entries"]]


def register(cluster: Cluster, reference: str) -> str:
    """A preservation request from the prosecution CP; its case id."""
    status, body = cluster.api.call(
        "POST", "/api/v1/requests", cluster.tokens["prosecution"], preservation_request(reference)
    )
    assert status == 201, body
    return body["case_id"]


def event_spy() -> Queue:
    """A queue of its own bound to every producer's event exchange (all routing keys): what
    the broker carries, as a consumer receives it. Exclusive: gone with its connection."""
    return Queue(
        f"spy-{uuid.uuid4().hex}",
        bindings=[
            binding(Exchange(f"{p}.events", type="topic", durable=True), routing_key="#")
            for p in producers()
        ],
        exclusive=True,
    )


def raw_event_bytes(cluster: Cluster) -> list[bytes]:
    """Every stored event's state, exactly as it sits in PostgreSQL."""
    with psycopg.connect(cluster.database_url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.columns "
            "WHERE column_name = 'state' AND data_type = 'bytea'"
        ).fetchall()
        assert len(tables) >= 6, tables
        return [
            bytes(row[0])
            for schema, table in tables
            for row in conn.execute(f'SELECT state FROM "{schema}"."{table}"').fetchall()
        ]
