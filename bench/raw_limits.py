"""The raw limits of cp247's parts on this machine, with the libraries cp247 uses.

- **Event store append**: eventsourcing's PostgreSQL recorder on this machine's PostgreSQL
  (a throw-away database), one new aggregate with one event per transaction, as cp247's
  services write (each command and each processed message is one small transaction), from
  ``--writers`` threads at once for ``--seconds``; and the same with 100 events per
  transaction, for scale. No cipher or compressor: the library and the database alone.
- **RabbitMQ**: kombu (the client nameko uses) publishing persistent 1 KiB messages with
  publisher confirms (each publish waits for its confirm, as nameko's publisher does) to a
  durable quorum queue, then consuming and acknowledging them (prefetch 100), in a throw-away
  vhost.

    .venv/bin/python -m bench.raw_limits --json /tmp/raw.json
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.stats import emit, machine

PG_ADMIN = os.environ.get("CP247_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_BASE = re.sub(
    r"/[^/]*$", "", os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/").rstrip("/")
)
if not AMQP_BASE.startswith("amqp://"):
    AMQP_BASE = "amqp://guest:guest@127.0.0.1:5672"


class Probe(Aggregate):
    """One small event, about the size of a cp247 status change."""

    @event("Noted")
    def __init__(self, note: str):
        self.note = note


class ProbeBatch(Aggregate):
    @event("Noted")
    def __init__(self, note: str):
        self.note = note

    @event("Added")
    def add(self, note: str) -> None:
        self.note = note


@contextmanager
def throwaway_database() -> Iterator[str]:
    import psycopg

    name = f"cp247_raw_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_env(database: str, pool: int) -> dict[str, str]:
    url = urlparse(PG_ADMIN)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": database,
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_PASSWORD": url.password or "",
        "POSTGRES_POOL_SIZE": str(pool),
        "POSTGRES_MAX_OVERFLOW": "0",
    }


def append_rate(app: Application, writers: int, seconds: float, batch: int) -> float:
    """Events per second appended by ``writers`` threads for ``seconds``."""
    note = "x" * 120
    counts = [0] * writers
    deadline = time.monotonic() + seconds

    def write(slot: int) -> None:
        while time.monotonic() < deadline:
            if batch == 1:
                app.save(Probe(note))
            else:
                probe = ProbeBatch(note)
                for _ in range(batch - 1):
                    probe.add(note)
                app.save(probe)
            counts[slot] += batch

    begun = time.monotonic()
    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - begun)


def event_store(writers: int, seconds: float) -> dict[str, Any]:
    import psycopg

    with throwaway_database() as database:
        app = Application(env=postgres_env(database, writers + 1))
        try:
            append_rate(app, 2, 1.0, 1)  # warm: connections, prepared statements, table pages
            single = {w: append_rate(app, w, seconds, 1) for w in sorted({1, writers})}
            batched = append_rate(app, 1, seconds, 100)
        finally:
            app.close()
        with psycopg.connect(PG_ADMIN) as conn:
            server = conn.execute("SHOW server_version").fetchone()[0]
            sync = conn.execute("SHOW synchronous_commit").fetchone()[0]
    return {
        "append_events_per_second": {f"{w} writer(s)": round(r) for w, r in single.items()},
        "append_events_per_second_batched_100": round(batched),
        "raw_append_rate": round(max(single.values())),
        "postgres": f"PostgreSQL {server.split()[0]}, synchronous_commit={sync}",
    }


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def broker(messages: int) -> dict[str, Any]:
    from kombu import Connection, Exchange, Queue

    vhost = f"cp247-raw-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        uri = f"{AMQP_BASE}/{quote(vhost, safe='')}"
        exchange = Exchange("raw", type="topic", durable=True)
        quorum = {"x-queue-type": "quorum"}  # as cp247's queues
        queue = Queue("raw", exchange, routing_key="#", durable=True, queue_arguments=quorum)
        body = {"payload": "x" * 1000}
        with Connection(uri, transport_options={"confirm_publish": True}) as conn:
            queue(conn.default_channel).declare()
            producer = conn.Producer(serializer="json")
            begun = time.monotonic()
            for _ in range(messages):
                producer.publish(body, exchange=exchange, routing_key="raw", delivery_mode=2)
            published = messages / (time.monotonic() - begun)
        received = 0
        with Connection(uri) as conn:
            done = threading.Event()

            def on_message(_body: Any, message: Any) -> None:
                nonlocal received
                message.ack()
                received += 1
                if received >= messages:
                    done.set()

            with conn.Consumer(queue, callbacks=[on_message], prefetch_count=100):
                begun = time.monotonic()
                while not done.is_set():
                    conn.drain_events(timeout=10)
                consumed = messages / (time.monotonic() - begun)
        version = subprocess.run(
            ["rabbitmqctl", "-q", "version"], capture_output=True, text=True, timeout=60
        ).stdout.strip()
    finally:
        rabbitmqctl("delete_vhost", vhost)
    return {
        "publish_confirmed_per_second": round(published),
        "consume_acked_per_second": round(consumed),
        "messages": messages,
        "rabbitmq": f"RabbitMQ {version}, quorum queue, persistent 1 KiB messages",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    started = time.monotonic()
    result: dict[str, Any] = {"bench": "raw_limits", "machine": machine()}
    result["event_store"] = event_store(args.writers, args.seconds)
    print(f"event store: {result['event_store']}", file=sys.stderr)
    result["broker"] = broker(args.messages)
    print(f"broker: {result['broker']}", file=sys.stderr)
    result["total_seconds"] = round(time.monotonic() - started, 1)
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
