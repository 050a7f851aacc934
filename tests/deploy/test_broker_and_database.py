"""infra/rabbitmq/definitions.json and infra/postgres/init.sql against the code.

The definitions must declare every exchange and queue exactly as the services declare them
(RabbitMQ refuses a second declaration that differs: 406 PRECONDITION_FAILED), computed here
from the service classes the way nameko does at start. tests/distributed imports the
definitions into the broker before the services start and runs init.sql in PostgreSQL.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from nameko.events import EventHandler, get_event_exchange
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import get_rpc_exchange

from cp247 import casekeys
from cp247 import nameko_support as ns
from cp247.runtime.application import ServiceApplication
from services.catalogue import NAMES

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "infra" / "rabbitmq" / "definitions.json"
INIT_SQL = ROOT / "infra" / "postgres" / "init.sql"
VHOST = "cp247"
SERVICES = list(NAMES)


class _Container:
    """Just enough of a nameko container for an extension to name and bind its queue."""

    def __init__(self, service_name: str):
        self.service_name, self.config, self.shared_extensions = service_name, {}, {}


def service_class(service: str) -> type:
    module = importlib.import_module(f"services.{service}.service")
    (cls,) = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and getattr(value, "name", None) == service
        and not issubclass(value, ServiceApplication)  # the adapter names its application
    ]
    return cls


def event_handlers(service: str) -> list[EventHandler]:
    """Every event handler of the service, bound and set up as nameko does at start."""
    cls = service_class(service)
    container = _Container(service)  # extensions hold it by weak reference only
    handlers = []
    for attr in dir(cls):
        for extension in getattr(getattr(cls, attr), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(extension, EventHandler):
                bound = extension.bind(container, attr)
                bound.setup()
                handlers.append(bound)
    return handlers


def exchange_of(exchange: Any) -> dict[str, Any]:
    return {
        "type": exchange.type,
        "durable": exchange.durable,
        "auto_delete": exchange.auto_delete,
        "internal": False,
        "arguments": dict(exchange.arguments or {}),
    }


def code_exchanges() -> dict[str, dict[str, Any]]:
    """Every exchange a service publishes to or binds a queue to."""
    exchanges = {ns.DEAD_LETTER_EXCHANGE.name: exchange_of(ns.DEAD_LETTER_EXCHANGE)}
    rpc = get_rpc_exchange({})
    exchanges[rpc.name] = exchange_of(rpc)
    for service in SERVICES:
        if isinstance(getattr(service_class(service), "relay", None), ns.OutboxRelay):
            exchange = ns.event_exchange(service)
            exchanges[exchange.name] = exchange_of(exchange)
        for handler in event_handlers(service):
            exchange = get_event_exchange(handler.source_service, {})
            assert exchange_of(exchange) == exchanges.setdefault(
                exchange.name, exchange_of(exchange)
            )
    return exchanges


def code_queues() -> dict[str, dict[str, Any]]:
    queues = {
        ns.DEAD_LETTER_QUEUE.name: {
            "queue": ns.DEAD_LETTER_QUEUE,
            "bindings": {(ns.DEAD_LETTER_EXCHANGE.name, "")},
        }
    }
    for service in SERVICES:
        for handler in event_handlers(service):
            queue = handler.queue
            queues[queue.name] = {
                "queue": queue,
                "bindings": {(queue.exchange.name, queue.routing_key)},
            }
    return queues


@pytest.fixture(scope="module")
def definitions() -> dict[str, Any]:
    return json.loads(DEFINITIONS.read_text())


def test_definitions_are_for_one_vhost_and_hold_no_credentials(definitions):
    assert [v["name"] for v in definitions["vhosts"]] == [VHOST]
    for kind in ("exchanges", "queues", "bindings", "policies"):
        assert {item["vhost"] for item in definitions[kind]} == {VHOST}, kind
    assert not {"users", "permissions", "topic_permissions"} & set(definitions)


def test_every_exchange_the_code_uses_is_declared_alike(definitions):
    declared = {e["name"]: e for e in definitions["exchanges"]}
    for name, expected in code_exchanges().items():
        assert name in declared, f"{name} is missing from definitions.json"
        found = {key: declared[name][key] for key in expected}
        assert found == expected, name
    assert set(declared) == set(code_exchanges()), "definitions.json declares unused exchanges"


def test_every_queue_is_a_quorum_queue_declared_as_the_code_declares_it(definitions):
    handlers = [h for service in SERVICES for h in event_handlers(service)]
    assert handlers and all(isinstance(h, ns.QuorumEventHandler) for h in handlers), (
        "every consumer uses cp247.nameko_support.event_handler (quorum queues)"
    )
    declared = {q["name"]: q for q in definitions["queues"]}
    expected = code_queues()
    assert set(declared) == set(expected)
    for name, code in expected.items():
        queue = code["queue"]
        assert queue.queue_arguments["x-queue-type"] == "quorum", name
        # A consumer queue has one active consumer (the other replicas stand by).
        consumer = name.startswith("evt-")
        assert queue.queue_arguments.get("x-single-active-consumer", False) is consumer, name
        assert queue.durable and not queue.auto_delete and not queue.exclusive, name
        found = declared[name]
        assert found["durable"] is True and found["auto_delete"] is False, name
        assert found["arguments"] == queue.queue_arguments, name
    bindings = {
        (b["destination"], b["source"], b["routing_key"])
        for b in definitions["bindings"]
        if b["destination_type"] == "queue"
    }
    wanted = {
        (name, exchange, key)
        for name, code in expected.items()
        for exchange, key in code["bindings"]
    }
    assert bindings == wanted


def test_consumer_queues_get_a_delivery_limit_and_dead_letter_to_the_dead_letter_exchange(
    definitions,
):
    consumers = [name for name in code_queues() if name != ns.DEAD_LETTER_QUEUE.name]
    for name in consumers:
        policies = [
            p
            for p in definitions["policies"]
            if re.search(p["pattern"], name) and p["apply-to"] in ("queues", "all")
        ]
        assert len(policies) == 1, name
        rules = policies[0]["definition"]
        assert 1 < rules["delivery-limit"] <= 100, name
        assert rules["dead-letter-exchange"] == ns.DEAD_LETTER_EXCHANGE.name
    # The dead letters themselves are never dropped or dead-lettered again.
    assert not [p for p in definitions["policies"] if re.search(p["pattern"], "cp247.dead-letter")]


# --- infra/postgres/init.sql --------------------------------------------------------------------


def sql_text() -> str:
    return INIT_SQL.read_text()


def test_init_sql_gives_each_service_a_role_that_owns_its_schema():
    text = sql_text()
    assert text.lstrip().startswith("--"), "init.sql starts with a comment"
    values = re.search(r"INSERT INTO cp247_roles VALUES(.*?);", text, re.S)
    assert values, "the roles are listed in one INSERT"
    rows = re.findall(r"\('(\w+)', :'role_prefix' \|\| '(\w+)', :'password_(\w+)'\)", values[1])
    assert [service for service, _, _ in rows] == [*SERVICES, "backup"]
    assert all(service == role == password for service, role, password in rows)
    for statement in (
        "CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I",
        "ALTER SCHEMA %I OWNER TO %I",
        "REVOKE ALL ON SCHEMA %I FROM PUBLIC",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        "GRANT SELECT, INSERT, UPDATE ON public.cp247_case_keys TO %I",
        "default_transaction_read_only = on",
    ):
        assert statement in text, statement
    for setting in (*SERVICES, "backup"):
        assert f"\\getenv password_{setting} CP247_DB_PASSWORD_{setting.upper()}" in text
    assert not re.search(r"PASSWORD\s+'", text, re.I), "no literal password in init.sql"


def test_init_sql_makes_the_case_keys_table_as_the_code_does():
    def columns(ddl: str) -> list[str]:
        body = ddl[ddl.index("(") + 1 : ddl.rindex(")")]
        return [" ".join(column.split()).upper() for column in body.split(",")]

    made = re.search(
        r"CREATE TABLE IF NOT EXISTS public\.cp247_case_keys (\(.*?\));", sql_text(), re.S
    )
    assert made, "init.sql creates public.cp247_case_keys"
    assert columns(made[1]) == columns(casekeys._SCHEMA)
