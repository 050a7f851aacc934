"""infra/postgres/init.sql on this machine's PostgreSQL, in a fresh database: each service runs
as its own role, owning its schema and nothing else; all share the table of case keys; the
backup role reads and never writes; a database first run with one superuser URL moves over."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest
from distributed_cluster import PG_ADMIN
from slice_driver import cli_env, preservation_request

from cp247.bootstrap import make_application
from cp247.config import Settings
from services.catalogue import NAMES

pytestmark = pytest.mark.distributed

INIT_SQL = Path(__file__).resolve().parents[2] / "infra" / "postgres" / "init.sql"
SERVICES = NAMES
ACTOR = {"username": "pat", "role": "prosecution"}


class Database:
    def __init__(self, name: str, prefix: str):
        self.name, self.prefix = name, prefix
        self.admin_url = urlparse(PG_ADMIN)._replace(path=f"/{name}").geturl()

    def role(self, service: str) -> str:
        return f"{self.prefix}{service}"

    def url(self, service: str) -> str:
        admin = urlparse(PG_ADMIN)
        netloc = f"{self.role(service)}:pw-{service}@{admin.hostname}:{admin.port or 5432}"
        return admin._replace(netloc=netloc, path=f"/{self.name}").geturl()

    def init(self) -> None:
        """Run init.sql as an operator would: psql, passwords as variables or environment."""
        passwords = [f"password_{service}=pw-{service}" for service in SERVICES]
        command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"role_prefix={self.prefix}"]
        for password in passwords:
            command += ["-v", password]
        env = cli_env(CP247_DB_PASSWORD_BACKUP="pw-backup")
        done = subprocess.run(
            [*command, "-f", str(INIT_SQL), self.admin_url],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr

    def admin(self, sql: str, *args: object) -> list[tuple]:
        with psycopg.connect(self.admin_url) as conn:
            return conn.execute(sql, args).fetchall()


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    for service in SERVICES:  # one connection per application pool is plenty here
        monkeypatch.setenv(f"{service.upper()}_POSTGRES_POOL_SIZE", "1")
    suffix = uuid.uuid4().hex[:10]
    db = Database(f"cp247_roles_{suffix}", f"cp247t{suffix}_")
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db.name}"')
    try:
        yield db
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
            roles = conn.execute(
                "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", (db.prefix,)
            ).fetchall()
            for (role,) in roles:
                conn.execute(f'DROP ROLE "{role}"')


def settings(tmp_path: Path, url: str) -> Settings:
    return Settings(data_dir=tmp_path / "shared", database_url=url)


def denied(url: str, sql: str) -> bool:
    with psycopg.connect(url) as conn:
        try:
            conn.execute(sql)
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction):
            return True
    return False


def test_each_service_runs_as_its_own_role_and_reads_no_other_schema(
    database: Database, tmp_path: Path
):
    database.init()
    database.init()  # again: nothing to do, nothing fails
    owners = dict(
        database.admin(
            "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ANY(%s)",
            list(SERVICES),
        )
    )
    assert owners == {service: database.role(service) for service in SERVICES}
    with_password = {
        role for (role,) in database.admin("SELECT rolname FROM pg_authid WHERE rolpassword <> ''")
    }
    assert {database.role(s) for s in (*SERVICES, "backup")} <= with_password

    # Existing behaviour: a superuser URL still works (here the gateway's first start) ...
    identity = make_application("gateway", settings(tmp_path, database.admin_url))
    try:
        identity.add_user("pat", "prosecution", "s3cret-enough-pw")
    finally:
        identity.close()
    # ... and running init.sql again hands what it made to the gateway's role.
    database.init()
    identity = make_application("gateway", settings(tmp_path, database.url("gateway")))
    try:
        assert identity.issue_token(username="pat").startswith("cp247_")
    finally:
        identity.close()

    # Intake as its own role: tables made at start, an event recorded and read back, the
    # case's key written to the shared table.
    intake = make_application("intake", settings(tmp_path, database.url("intake")))
    try:
        created = intake.register_request(preservation_request("US-ROLES-1"), ACTOR)
        assert intake.get_request(created["request_id"])["case_id"] == created["case_id"]
        assert "RequestReceived" in {m.get("event") for m in intake.outbox(1, 100)}
    finally:
        intake.close()
    with psycopg.connect(database.url("intake")) as conn:
        keys = conn.execute(
            "SELECT count(*) FROM cp247_case_keys WHERE case_id = %s", (created["case_id"],)
        ).fetchone()
    assert keys == (1,)
    preservation = make_application(
        "preservation", settings(tmp_path, database.url("preservation"))
    )
    preservation.close()

    tables = database.admin(
        "SELECT schemaname, tablename, tableowner FROM pg_tables WHERE schemaname = ANY(%s)",
        ["intake", "preservation", "gateway"],
    )
    assert {schema for schema, _, _ in tables} == {"intake", "preservation", "gateway"}
    for schema, _, owner in tables:
        assert owner == database.role(schema), tables
    other = next(f'"{s}"."{t}"' for s, t, _ in tables if s == "preservation")
    own = next(f'"{s}"."{t}"' for s, t, _ in tables if s == "intake")

    intake_url = database.url("intake")
    assert denied(intake_url, f"SELECT * FROM {other}")
    assert denied(intake_url, f"INSERT INTO {other} DEFAULT VALUES")
    assert denied(intake_url, "CREATE SCHEMA elsewhere")
    assert denied(intake_url, "CREATE TABLE public.elsewhere (x int)")
    assert denied(intake_url, "DELETE FROM cp247_case_keys")
    assert not denied(intake_url, f"SELECT count(*) FROM {own}")

    backup_url = database.url("backup")
    assert not denied(backup_url, f"SELECT count(*) FROM {own}")
    assert not denied(backup_url, f"SELECT count(*) FROM {other}")
    assert not denied(backup_url, "SELECT count(*) FROM cp247_case_keys")
    assert denied(backup_url, "UPDATE cp247_case_keys SET wrapped = NULL")
    assert denied(backup_url, f"DELETE FROM {own}")
