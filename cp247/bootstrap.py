"""The one place where applications are built from settings, in every mode and the CLI."""

from __future__ import annotations

import hmac
from importlib import import_module
from typing import Any

from cp247.config import Settings
from cp247.runtime.application import ServiceApplication

APPLICATIONS: dict[str, str] = {
    "intake": "services.intake.app:IntakeApplication",
    "preservation": "services.preservation.app:PreservationApplication",
    "isp_liaison": "services.isp_liaison.app:IspLiaisonApplication",
    "mla": "services.mla.app:MlaApplication",
    "notification": "services.notification.app:NotificationApplication",
    "timeline": "services.timeline.app:TimelineApplication",
    "gateway": "services.gateway.identity:IdentityApplication",
}


def application_class(name: str) -> type[ServiceApplication]:
    module, _, attr = APPLICATIONS[name].partition(":")
    return getattr(import_module(module), attr)


def ensure_schema(settings: Settings, schema: str) -> None:
    """Each service keeps its event store in its own PostgreSQL schema."""
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
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')


def make_application(name: str, settings: Settings) -> Any:
    env = settings.persistence_env(name)
    env["CP247_POLICY"] = settings.policy
    env["CP247_SIGNING_KEY"] = str(settings.signing_key_path)
    env["CP247_LETTERHEAD"] = settings.letterhead or ""
    if name in ("isp_liaison", "notification"):  # webhook secrets and acknowledgement links
        env["CP247_WEBHOOK_MASTER_KEY"] = settings.webhook_key().hex()
    if name == "intake":  # names the identifier index by keyed digest; must survive rotation
        env["CP247_INDEX_KEY"] = hmac.new(settings.webhook_key(), b"index", "sha256").hexdigest()
    if settings.store == "postgres":
        ensure_schema(settings, name)
    return application_class(name)(env=env)
