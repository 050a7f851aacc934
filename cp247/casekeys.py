"""Per-case data keys: destroy a case's key and its personal data become unreadable.

Personal fields of events (identifiers, free text, documents: see ``PERSONAL`` in
``events/fields.py``) are sealed under a key of their own case (``cp247.runtime.sealing``).
The keys live here, each wrapped (AES-GCM) by a key-encryption key derived from the event
store key, so a copy of this table alone reveals nothing. Retention destroys a key; the rest
of every event (who, when, what kind of step) and so the timeline's hash chain stay intact.

One table shared by every service: a SQLite file next to the event stores (embedded), or
``cp247_case_keys`` in the PostgreSQL database (distributed).
"""

from __future__ import annotations

import base64
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cp247.clock import iso, utcnow
from cp247.config import setting
from cp247.runtime.derivation import derive_from_base64

# How long a process trusts a key it has read: a key destroyed elsewhere stops being used by
# every other process within this time (destruction itself is final and cached at once).
CACHE_SECONDS = float(setting("CP247_CASE_KEY_CACHE_SECONDS", "30") or 30)

ENV_LOCATION = "CP247_CASE_KEYS"  # sqlite:<path> or a postgresql:// URL
ENV_MASTER = "CP247_CASE_KEYS_MASTER"  # the event store key (base64), wraps the case keys
ENV_MASTER_PREVIOUS = "CP247_CASE_KEYS_MASTER_PREVIOUS"  # keys before rotation, comma-separated

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cp247_case_keys (
    case_id TEXT PRIMARY KEY,
    wrapped TEXT,
    created_at TEXT NOT NULL,
    destroyed_at TEXT,
    destroyed_because TEXT
)
"""


def key_encryption_key(event_store_key: str) -> bytes:
    """The key that wraps case keys: derived from (never equal to) the event store key."""
    return derive_from_base64(event_store_key, b"cp247 case keys")


@dataclass(frozen=True)
class Shredded:
    case_id: str
    destroyed_at: str
    because: str


class _Table:
    """The one table, over sqlite3 or psycopg; every call is its own short transaction."""

    def __init__(self, location: str):
        self.location = location
        self.postgres = location.startswith(("postgresql://", "postgres://"))
        self._lock = threading.Lock()
        self._conn: Any = None

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        with self._lock:
            if self.postgres and self._conn is not None and self._conn.broken:
                self._conn = None  # the server restarted or cut it: connect again
            if self._conn is None:
                self._conn = self._connect()
            try:
                yield self._conn.cursor()
                self._conn.commit()
            except Exception:
                try:
                    self._conn.rollback()
                except Exception:
                    pass  # a lost connection cannot roll back: it is replaced next time
                if self.postgres and (self._conn.closed or self._conn.broken):
                    self._conn = None
                raise

    def _connect(self) -> Any:
        if self.postgres:
            import psycopg

            conn = psycopg.connect(self.location)
        else:
            path = self.location.removeprefix("sqlite:")
            conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
        cur = conn.cursor()
        # Made by infra/postgres/init.sql where services connect as roles that may not
        # create tables in public: only look it up then (CREATE needs that right even if
        # the table exists).
        missing = not self.postgres or (
            cur.execute("SELECT to_regclass('cp247_case_keys')").fetchone()[0] is None
        )
        if missing:
            try:
                cur.execute(_SCHEMA)
            except Exception as exc:  # psycopg's UniqueViolation: made by another process
                if not (self.postgres and getattr(exc, "sqlstate", None) == "23505"):
                    raise
                conn.rollback()
        conn.commit()
        return conn

    def sql(self, statement: str) -> str:
        return statement if self.postgres else statement.replace("%s", "?")


class CaseKeys:
    """Create, read, destroy and re-wrap the data keys of cases."""

    def __init__(self, location: str, kek: bytes, previous: tuple[bytes, ...] = ()):
        self._table = _Table(location)
        self._kek = AESGCM(kek)
        # Until `cp247 keys rewrap` has run, some case keys are still wrapped by an older key.
        self._previous = [AESGCM(k) for k in previous]
        self._cache: dict[str, tuple[bytes | None, float]] = {}

    # --- keys ------------------------------------------------------------------------------
    def key_for(self, case_id: str, create: bool = True) -> bytes | None:
        """The case's data key (made on first use), or None once it has been destroyed."""
        cached = self._cache.get(case_id)
        if cached and (cached[0] is None or time.monotonic() - cached[1] < CACHE_SECONDS):
            return cached[0]
        row = self._row(case_id)
        if row is None and create:
            wrapped = self._wrap(case_id, AESGCM.generate_key(bit_length=256))
            with self._table.cursor() as cur:
                cur.execute(
                    self._table.sql(
                        "INSERT INTO cp247_case_keys (case_id, wrapped, created_at) "
                        "VALUES (%s, %s, %s) ON CONFLICT (case_id) DO NOTHING"
                    ),
                    (case_id, wrapped, iso(utcnow())),
                )
            row = self._row(case_id)  # ours, or the one another process made a moment ago
        if row is None:
            return None
        key = None if row[0] is None else self._unwrap(case_id, row[0])
        self._cache[case_id] = (key, time.monotonic())
        return key

    def destroy(self, case_id: str, because: str) -> bool:
        """Destroy the case's key for good; False if it had none or was already destroyed."""
        with self._table.cursor() as cur:
            cur.execute(
                self._table.sql(
                    "UPDATE cp247_case_keys SET wrapped = NULL, destroyed_at = %s, "
                    "destroyed_because = %s WHERE case_id = %s AND wrapped IS NOT NULL"
                ),
                (iso(utcnow()), because, case_id),
            )
            changed = cur.rowcount == 1
        self._cache[case_id] = (None, time.monotonic())
        return changed

    def shredded(self, case_id: str) -> Shredded | None:
        with self._table.cursor() as cur:
            cur.execute(
                self._table.sql(
                    "SELECT destroyed_at, destroyed_because FROM cp247_case_keys "
                    "WHERE case_id = %s AND destroyed_at IS NOT NULL"
                ),
                (case_id,),
            )
            row = cur.fetchone()
        return Shredded(case_id, row[0], row[1]) if row else None

    def rewrap(self, new_kek: bytes | None = None) -> int:
        """Key rotation: wrap every live case key under the current (or a new) key."""
        new = AESGCM(new_kek) if new_kek else self._kek
        with self._table.cursor() as cur:
            cur.execute("SELECT case_id, wrapped FROM cp247_case_keys WHERE wrapped IS NOT NULL")
            rows = cur.fetchall()
            for case_id, wrapped in rows:
                key = self._unwrap(case_id, wrapped)
                nonce = os.urandom(12)
                again = base64.b64encode(nonce + new.encrypt(nonce, key, case_id.encode()))
                cur.execute(
                    self._table.sql("UPDATE cp247_case_keys SET wrapped = %s WHERE case_id = %s"),
                    (again.decode(), case_id),
                )
        self._kek = new
        self._cache.clear()
        return len(rows)

    # --- internals -------------------------------------------------------------------------
    def _row(self, case_id: str) -> tuple[str | None] | None:
        with self._table.cursor() as cur:
            cur.execute(
                self._table.sql("SELECT wrapped FROM cp247_case_keys WHERE case_id = %s"),
                (case_id,),
            )
            return cur.fetchone()

    def _wrap(self, case_id: str, key: bytes) -> str:
        nonce = os.urandom(12)
        return base64.b64encode(nonce + self._kek.encrypt(nonce, key, case_id.encode())).decode()

    def _unwrap(self, case_id: str, wrapped: str) -> bytes:
        raw = base64.b64decode(wrapped)
        for kek in (self._kek, *self._previous):
            try:
                return kek.decrypt(raw[:12], raw[12:], case_id.encode())
            except InvalidTag:
                continue
        raise InvalidTag(f"no current or previous key unwraps the key of case {case_id}")


_open: dict[tuple[str, bytes, tuple[bytes, ...]], CaseKeys] = {}
_open_lock = threading.Lock()


def case_keys(location: str, event_store_key: str, previous: tuple[str, ...] = ()) -> CaseKeys:
    """The process's one vault for that location (every service in a process shares it)."""
    kek = key_encryption_key(event_store_key)
    older = tuple(key_encryption_key(k) for k in previous)
    with _open_lock:
        vault = _open.get((location, kek, older))
        if vault is None:
            vault = _open[(location, kek, older)] = CaseKeys(location, kek, older)
        return vault


def vault_settings(env: Any) -> dict[str, str]:
    """The settings that name the vault, alone (to hand to a worker process)."""
    names = (ENV_LOCATION, ENV_MASTER, ENV_MASTER_PREVIOUS)
    return {name: str(env.get(name)) for name in names if env.get(name)}


def case_keys_from_env(env: Any) -> CaseKeys | None:
    """The vault an application's environment names, if any (unit tests run without one)."""
    location, key = env.get(ENV_LOCATION), env.get(ENV_MASTER)
    previous = tuple(k for k in (env.get(ENV_MASTER_PREVIOUS) or "").split(",") if k.strip())
    return case_keys(location, key, previous) if location and key else None


def deployment_vault(settings: Any) -> CaseKeys:
    """The vault of per-case keys that every service of the deployment ``settings``
    (``cp247.config.Settings``) shares."""
    vault = case_keys_from_env(settings.persistence_env("timeline"))
    assert vault is not None  # persistence_env always names one
    return vault
