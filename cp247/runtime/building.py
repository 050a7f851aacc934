"""Building a service's application from settings: its store's environment, its keys and,
on PostgreSQL, its schema. Shared by every runner; it knows no service: a runner names the
application class (``cp247.bootstrap`` maps names to classes for the entry points)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cp247.config import Settings
from cp247.runtime.application import ServiceApplication
from cp247.runtime.derivation import derive_key


def build_application(cls: type[ServiceApplication], settings: Settings) -> Any:
    """An application of ``cls`` on the store and keys ``settings`` name."""
    name = cls.name
    env = settings.persistence_env(name)
    env["CP247_POLICY"] = settings.policy
    env["CP247_SIGNING_KEY"] = str(settings.signing_key_path)
    env["CP247_LETTERHEAD"] = settings.letterhead or ""
    if name in ("isp_liaison", "notification"):  # webhook secrets and acknowledgement links
        env["CP247_WEBHOOK_MASTER_KEY"] = settings.webhook_key().hex()
        env["CP247_OUTBOUND_ALLOWED_HOSTS"] = settings.outbound_allowed_hosts
    if name == "intake":  # names the identifier index by keyed digest; must survive rotation
        env["CP247_INDEX_KEY"] = derive_key(settings.webhook_key(), b"index").hex()
    if settings.store == "postgres":
        with ensure_schema(settings, name):  # the application creates its tables
            return cls(env=env)
    return cls(env=env)


@contextmanager
def ensure_schema(settings: Settings, schema: str) -> Iterator[None]:
    """Each service keeps its event store in its own PostgreSQL schema.

    Created here if missing (needs CREATE on the database); a schema made beforehand by
    infra/postgres/init.sql is only looked up, so the service's own role needs no such right.
    Until the block ends this process holds the schema's advisory lock: replicas starting
    together on a fresh database would otherwise race to create the same tables (CREATE ...
    IF NOT EXISTS is not safe against a concurrent CREATE).
    """
    import psycopg

    env = settings.persistence_env(schema)
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=int(env["POSTGRES_PORT"]),
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"] or None,
        autocommit=True,
        connect_timeout=10,
    ) as conn:
        lock = zlib.crc32(f"cp247 schema {schema}".encode())
        conn.execute("SELECT pg_advisory_lock(%s)", (lock,))
        try:
            found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
            if found.fetchone() is None:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (lock,))
