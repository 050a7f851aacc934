"""The distributed cluster used by the distributed tests: every service a separate
``nameko run`` process against this machine's RabbitMQ and PostgreSQL, in a fresh vhost and
database per run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
from slice_driver import Api, Cli, cli_env, free_port, wait_for

from cp247.bootstrap import make_application
from cp247.config import Settings
from cp247.distributed import spawn, stop
from cp247.runtime.application import ServiceApplication

PG_ADMIN = os.environ.get("CP247_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_BASE = os.environ.get("CP247_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672")


SERVICES = ("intake", "preservation", "isp_liaison", "mla", "notification", "timeline", "gateway")


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


class Cluster:
    def __init__(self, tmp: Path, extra_env: dict[str, str] | None = None):
        suffix = uuid.uuid4().hex[:10]
        self.database = f"cp247_test_{suffix}"
        self.vhost = f"cp247-test-{suffix}"
        admin = re.sub(r"/[^/]*$", "", PG_ADMIN)
        self.database_url = f"{admin}/{self.database}"
        self.amqp_uri = f"{AMQP_BASE}/{quote(self.vhost, safe='')}"
        self.env = cli_env(
            AMQP_URI=self.amqp_uri,
            CP247_DATABASE_URL=self.database_url,
            # One data directory for keys shared by every process, as in a real deployment.
            CP247_DATA_DIR=str(tmp / "shared"),
            **(extra_env or {}),
        )
        self.ports = {name: free_port() for name in SERVICES}
        self.gateway_port = self.ports["gateway"]
        self.log_dir = tmp / "logs"
        self.processes: dict[str, subprocess.Popen] = {}
        self.replica_ports: dict[str, int] = {}
        self.api = Api(f"http://127.0.0.1:{self.gateway_port}")
        self.cli = Cli(self.env)

    def create(self) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")

    def start(self, *services: str) -> None:
        names = services or SERVICES
        for name in names:
            self.processes[name] = spawn(
                name, self.env, self.ports[name], self.log_dir / f"{name}.log"
            )
        wait_for(self.ready, timeout=90, what=f"{', '.join(names)} to be ready")

    def ready(self) -> bool:
        for name, process in self.processes.items():
            assert process.poll() is None, f"{name} died:\n{self.log(name)}"
        try:
            for name in self.processes:
                port = self.gateway_port if name == "gateway" else self.service_port(name)
                if Api(f"http://127.0.0.1:{port}").call("GET", "/readyz")[0] != 200:
                    return False
        except OSError:
            return False
        return True

    def start_replica(self, name: str) -> int:
        """Another process of the same service (competing for the same queues)."""
        port = free_port()
        key = f"{name}@{port}"
        self.processes[key] = spawn(name, self.env, port, self.log_dir / f"{key}.log")
        self.replica_ports[key] = port
        wait_for(self.ready, timeout=90, what=f"replica {key} to be ready")
        return port

    def stop_service(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        process.wait(30)

    def service_port(self, name: str) -> int:
        return self.replica_ports.get(name) or self.ports[name]

    def metric(self, process: str, name: str, **labels: str) -> float:
        """A sample of a Prometheus metric of one process (by service name or replica key)."""
        status, text = Api(f"http://127.0.0.1:{self.service_port(process)}").call("GET", "/metrics")
        assert status == 200
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith(f"{name}{{{wanted}}}"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def application(self, name: str) -> ServiceApplication:
        # The cluster's own keys (events are encrypted at rest with the shared key).
        settings = Settings(
            data_dir=Path(self.env["CP247_DATA_DIR"]), database_url=self.database_url
        )
        return make_application(name, settings)

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
