"""Configuration, read once from the environment (and CLI flags) by every process.

| variable              | meaning                                                         |
|-----------------------|-----------------------------------------------------------------|
| CP247_DATA_DIR        | SQLite event stores for the embedded mode (default ./cp247-data) |
| CP247_DATABASE_URL    | postgresql://user:pass@host:port/db -> PostgreSQL stores, one     |
|                       | schema per service (distributed mode)                           |
| AMQP_URI              | RabbitMQ for the distributed mode                               |
| CP247_POLICY          | national policy profile: police-needs-approval (default) or      |
|                       | cp-orders-directly, or a YAML policy file                       |
| CP247_SIGNING_KEY     | Ed25519 key (PEM) that signs order documents; created on first   |
|                       | use (default <data dir>/keys/documents-ed25519.pem)             |
| CP247_LETTERHEAD      | YAML letterhead of order documents (infra/letterhead.example.yaml)|
| CP247_EVENTS_KEY      | base64 AES-256 key encrypting every stored event (AES-GCM);      |
|                       | default: generated into <data dir>/keys/events.key             |
| CP247_EVENTS_KEY_PREVIOUS | comma-separated earlier event keys, newest first: read-only  |
|                       | after a rotation (default: <data dir>/keys/events.previous)     |
| CP247_WEBHOOK_MASTER_KEY | hex key from which each provider's webhook secret is derived;  |
|                       | default: generated into <data dir>/keys/webhook-master.key      |
| CP247_OUTBOUND_ALLOWED_HOSTS | comma-separated hosts (names or IPs) that webhooks may call |
|                       | although not public https (default: none; cp247.outbound)       |
| CP247_METRICS_TOKEN   | bearer token Prometheus sends to /metrics (default: none, and    |
|                       | /metrics answers 404)                                          |
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    pass

DEFAULT_DATA_DIR = "./cp247-data"


def setting(name: str, default: str | None = None) -> str | None:
    """A setting from the process environment, or ``default`` when unset or empty.

    The one place cp247 reads its environment (``tests/unit/test_configuration.py`` fails on
    any other read); every variable is described in docs/operations.md ("Configuration").
    Applications receive theirs as the environment their runner builds
    (``cp247.runtime.building``).
    """
    value = os.environ.get(name)
    return value if value else default


def environment() -> dict[str, str]:
    """The whole process environment: for child processes, and settings read as a group
    (``CP247_SMTP_*``)."""
    return dict(os.environ)


def allow_insecure_cookies() -> None:
    """``cp247 run`` on this machine only, over plain http: browsers drop Secure cookies."""
    os.environ.setdefault("CP247_INSECURE_COOKIES", "1")


class ConfigurationError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None = None
    amqp_uri: str | None = None
    policy: str = "police-needs-approval"
    signing_key: str | None = None
    letterhead: str | None = None
    webhook_master_key: str | None = None
    events_key: str | None = None
    events_key_previous: str | None = None
    outbound_allowed_hosts: str = ""
    metrics_token: str | None = None

    @classmethod
    def from_env(cls, data_dir: str | None = None) -> Settings:
        return cls(
            data_dir=Path(data_dir or setting("CP247_DATA_DIR", DEFAULT_DATA_DIR) or ""),
            database_url=setting("CP247_DATABASE_URL"),
            amqp_uri=setting("AMQP_URI"),
            policy=setting("CP247_POLICY", "police-needs-approval") or "",
            signing_key=setting("CP247_SIGNING_KEY"),
            letterhead=setting("CP247_LETTERHEAD"),
            webhook_master_key=setting("CP247_WEBHOOK_MASTER_KEY"),
            events_key=setting("CP247_EVENTS_KEY"),
            events_key_previous=setting("CP247_EVENTS_KEY_PREVIOUS"),
            outbound_allowed_hosts=setting("CP247_OUTBOUND_ALLOWED_HOSTS", "") or "",
            metrics_token=setting("CP247_METRICS_TOKEN"),
        )

    @property
    def signing_key_path(self) -> Path:
        return Path(self.signing_key or self.data_dir / "keys" / "documents-ed25519.pem")

    def event_store_key(self) -> str:
        """The key that encrypts events at rest (base64, 32 bytes): configured, or made once."""
        if self.events_key:
            try:
                valid = len(base64.b64decode(self.events_key, validate=True)) == 32
            except ValueError:
                valid = False
            if not valid:
                raise ConfigurationError(
                    "CP247_EVENTS_KEY must be 32 random bytes in base64 (e.g. python3 -c "
                    "'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
                )
            return self.events_key
        return _key_file(
            self.data_dir / "keys" / "events.key",
            lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        )

    @property
    def previous_keys_path(self) -> Path:
        return self.data_dir / "keys" / "events.previous"

    def previous_event_keys(self) -> list[str]:
        """Keys retired by rotation, newest first: they still decrypt what they encrypted."""
        if self.events_key_previous is not None:
            keys = self.events_key_previous.split(",")
        elif self.previous_keys_path.exists():
            keys = self.previous_keys_path.read_text().split()
        else:
            keys = []
        return [k.strip() for k in keys if k.strip()]

    def webhook_key(self) -> bytes:
        """The master key of provider webhook secrets: configured, or made once and kept."""
        if self.webhook_master_key:
            try:
                key = bytes.fromhex(self.webhook_master_key)
            except ValueError:
                key = b""
            if len(key) < 16:
                raise ConfigurationError(
                    "CP247_WEBHOOK_MASTER_KEY must be at least 32 hex digits "
                    "(e.g. python3 -c 'import secrets; print(secrets.token_hex(32))')"
                )
            return key
        text = _key_file(
            self.data_dir / "keys" / "webhook-master.key", lambda: secrets.token_hex(32)
        )
        return bytes.fromhex(text)

    @property
    def store(self) -> str:
        return "postgres" if self.database_url else "sqlite"

    def persistence_env(self, service: str) -> dict[str, str]:
        """eventsourcing settings for one service's own event store."""
        encryption = {
            # Personal data (names, e-mails, addresses) in events is encrypted at rest.
            "CIPHER_TOPIC": "cp247.runtime.keyring:KeyringCipher",
            "CIPHER_KEY": self.event_store_key(),
            "CIPHER_KEYS_PREVIOUS": ",".join(self.previous_event_keys()),
            "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
            "CP247_CASE_KEYS_MASTER": self.event_store_key(),
            "CP247_CASE_KEYS_MASTER_PREVIOUS": ",".join(self.previous_event_keys()),
        }
        if self.database_url is None:
            keep_private(self.data_dir)  # before SQLite creates the stores in it
            return {
                **encryption,
                "CP247_CASE_KEYS": f"sqlite:{self.data_dir / 'case-keys.sqlite'}",
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
            **encryption,
            "CP247_CASE_KEYS": self.database_url,
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.path.strip("/"),
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_SCHEMA": service,
            "POSTGRES_POOL_SIZE": "4",
            # A pooled connection is checked before use: after a database restart the pool
            # opens new ones instead of handing out dead ones.
            "POSTGRES_PRE_PING": "y",
            # The wait for a pooled connection. eventsourcing tries a store operation ten
            # times: with the database down a caller hears 503 after about 12 s, not 52 s.
            "POSTGRES_CONNECT_TIMEOUT": "1",
        }


# Files a cp247 process creates are its own: stores (and SQLite's -wal/-shm), documents, dead
# letters, logs. Group and others get nothing, whatever the umask the process was started with.
PRIVATE_UMASK = 0o077


def keep_private(data_dir: Path) -> None:
    """Make ``data_dir`` private (0700, its files 0600) and what this process creates too.

    Sets the process umask to 0o077, so files made later (SQLite's -wal and -shm appear at
    any time) are private from the start; what an earlier version created with wider rights
    is tightened here.
    """
    os.umask(PRIVATE_UMASK)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in (data_dir, *data_dir.rglob("*")):
        try:
            if path.is_symlink():
                continue  # not ours to change (e.g. a key mounted from elsewhere)
            if path.stat().st_mode & 0o077:  # group or others may read, write or enter
                path.chmod(0o700 if path.is_dir() else 0o600)
        except FileNotFoundError:
            continue  # removed meanwhile (a -wal file at checkpoint)


def _key_file(path: Path, make: Callable[[], str]) -> str:
    """A secret kept in a file readable by its owner only, created on first use."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago
        else:
            with os.fdopen(fd, "w") as out:
                out.write(make())
    for _ in range(50):  # the other process may still be writing it
        text = path.read_text().strip()
        if text:
            return text
        time.sleep(0.1)
    raise ConfigurationError(f"{path} is empty")
