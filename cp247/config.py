"""Configuration, read once from the environment (and CLI flags) by every process.

| variable              | meaning                                                         |
|-----------------------|-----------------------------------------------------------------|
| CP247_DATA_DIR        | SQLite event stores for the embedded mode (default ./cp247-data) |
| CP247_DATABASE_URL    | postgresql://user:pass@host:port/db -> PostgreSQL stores, one     |
|                       | schema per service (distributed mode)                           |
| AMQP_URI              | RabbitMQ for the distributed mode                               |
| CP247_POLICY          | national policy profile: police-needs-approval (default) or      |
|                       | cp-orders-directly                                              |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

DEFAULT_DATA_DIR = "./cp247-data"


class ConfigurationError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None = None
    amqp_uri: str | None = None
    policy: str = "police-needs-approval"

    @classmethod
    def from_env(cls, data_dir: str | None = None) -> Settings:
        return cls(
            data_dir=Path(data_dir or os.environ.get("CP247_DATA_DIR") or DEFAULT_DATA_DIR),
            database_url=os.environ.get("CP247_DATABASE_URL") or None,
            amqp_uri=os.environ.get("AMQP_URI") or None,
            policy=os.environ.get("CP247_POLICY") or "police-needs-approval",
        )

    @property
    def store(self) -> str:
        return "postgres" if self.database_url else "sqlite"

    def persistence_env(self, service: str) -> dict[str, str]:
        """eventsourcing settings for one service's own event store."""
        if self.database_url is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.data_dir / f"{service}.sqlite"),
                "SQLITE_LOCK_TIMEOUT": "10",
            }
        url = urlparse(self.database_url)
        if url.scheme not in ("postgresql", "postgres") or not url.path.strip("/"):
            raise ConfigurationError(
                "CP247_DATABASE_URL must look like postgresql://user:password@host:5432/dbname"
            )
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.path.strip("/"),
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_SCHEMA": service,
            "POSTGRES_POOL_SIZE": "4",
        }
