"""``make run-distributed``: every service its own ``nameko run`` process on this machine.

Needs RabbitMQ (``AMQP_URI``) and PostgreSQL (``CP247_DATABASE_URL``); creates the database
if it is missing. The gateway listens on ``CP247_GATEWAY_PORT`` (default 8080); the other
services serve /healthz, /readyz and /metrics from ``CP247_SERVICE_PORT_BASE`` (default 8101).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from cp247.config import PRIVATE_UMASK, environment
from services.catalogue import NAMES as SERVICES

CONFIG = Path(__file__).resolve().parent.parent / "infra" / "nameko.yaml"


def ensure_database(database_url: str) -> None:
    import psycopg

    url = urlparse(database_url)
    name = url.path.strip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def ports(gateway_port: int, base: int) -> dict[str, int]:
    return {
        name: gateway_port if name == "gateway" else base + index
        for index, name in enumerate(SERVICES)
    }


def launch(
    env: dict[str, str],
    gateway_port: int,
    base_port: int,
    log_dir: Path,
    services: tuple[str, ...] = SERVICES,
) -> dict[str, subprocess.Popen]:
    """Start the given services, each logging to ``log_dir/<service>.log``."""
    return {
        name: spawn(name, env, port, log_dir / f"{name}.log")
        for name, port in ports(gateway_port, base_port).items()
        if name in services
    }


def spawn(name: str, env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    """One ``nameko run`` process of a service (run it again for another replica)."""
    log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Logs name cases and users: the owner's only, also when the file is already there.
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nameko",
                "run",
                "--config",
                str(CONFIG),
                f"services.{name}.service",
            ],
            env={**env, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(processes: dict[str, subprocess.Popen], timeout: float = 10) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes.values():
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    os.umask(PRIVATE_UMASK)  # what the services create is theirs only (they set it too)
    env = environment()
    env.setdefault("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    env.setdefault("CP247_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/cp247")
    ensure_database(env["CP247_DATABASE_URL"])
    gateway_port = int(env.get("CP247_GATEWAY_PORT", "8080"))
    base_port = int(env.get("CP247_SERVICE_PORT_BASE", "8101"))
    log_dir = Path(env.get("CP247_LOG_DIR", "cp247-data/logs"))
    processes = launch(env, gateway_port, base_port, log_dir)
    print(
        f"cp247 distributed: gateway http://127.0.0.1:{gateway_port}/, "
        f"{len(processes)} services, logs in {log_dir}/; Ctrl+C stops",
        file=sys.stderr,
    )
    try:
        while all(p.poll() is None for p in processes.values()):
            time.sleep(1)
        failed = [name for name, p in processes.items() if p.poll() is not None]
        print(f"stopped: {', '.join(failed)} exited; see {log_dir}/", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
