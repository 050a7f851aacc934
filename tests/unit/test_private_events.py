"""Only public events cross a boundary (issue 19, item 4): a service's own bookkeeping (the
identifier index, the MLA case notes, a request's standing...) is declared in the catalogue so
that its personal fields are sealed in the store, but leaves its service as a position only.

And each event is declared once: the aggregate's event and its contract schema agree, field
for field, and every contract is some aggregate's event.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from collections.abc import Iterator

import pytest
from eventsourcing.domain import Aggregate
from slice_driver import preservation_request

from cp247.runtime.inbox import Inbox
from events import ContractViolation, registry
from events.contract import position_only
from services.catalogue import APPLICATIONS, application_class
from services.intake.app import IntakeApplication
from services.notification.app import NotificationApplication

ACTOR = {"username": "pat", "role": "prosecution"}
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
PUBLISHERS = [name for name in APPLICATIONS if application_class(name).publishes]
PRIVATE = sorted(c.name for c in registry if c.private)


def aggregate_events(service: str) -> Iterator[tuple[str, type]]:
    """(event name, event class) of every aggregate defined in the service's package."""
    package = importlib.import_module(f"services.{service}")
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"services.{service}.{info.name}")
        for aggregate in vars(module).values():
            if not (
                inspect.isclass(aggregate)
                and issubclass(aggregate, Aggregate)
                and aggregate.__module__ == module.__name__
            ):
                continue
            for name, member in vars(aggregate).items():
                if (
                    inspect.isclass(member)
                    and issubclass(member, Aggregate.Event)
                    and member.__qualname__ == f"{aggregate.__qualname__}.{name}"
                    and name not in ("Event", "Created", "Snapshot")
                ):
                    yield name, member


def test_each_event_is_declared_once_and_its_aggregate_and_contract_agree() -> None:
    produced: set[str] = set()
    for service in PUBLISHERS:
        for name, event_class in aggregate_events(service):
            produced.add(name)
            assert name in registry, f"{service}: {name} is not in events/catalogue.py"
            contract = registry.get(name)
            assert contract.source == service, f"{name} is declared for {contract.source}"
            carried = set(getattr(event_class, "__annotations__", {}))
            declared = set(contract.schema._declared_fields)
            assert carried == declared, f"{name}: the aggregate carries {carried ^ declared}"
    orphans = {contract.name for contract in registry} - produced
    assert not orphans, f"declared but no aggregate records them: {sorted(orphans)}"


def test_no_service_consumes_another_services_private_event() -> None:
    assert PRIVATE, "the catalogue declares the services' bookkeeping private"
    for service in APPLICATIONS:
        consumed = set(application_class(service).policies)
        assert not consumed & set(PRIVATE), f"{service} consumes {consumed & set(PRIVATE)}"


def test_private_bookkeeping_crosses_as_its_position_only() -> None:
    intake, notification = IntakeApplication(env=POPO), NotificationApplication(env=POPO)
    intake.register_request(preservation_request("PRIV-1"), ACTOR)
    outbox = intake.outbox(1, 1000)
    assert [m["notification_id"] for m in outbox] == list(range(1, len(outbox) + 1))
    placeholders = [m for m in outbox if "event" not in m]
    # The near-duplicate index keeps its own notes of each identifier.
    assert placeholders and all(m.keys() == {"source", "notification_id"} for m in placeholders)
    wire = json.dumps(outbox)
    for name in PRIVATE:
        assert f'"{name}"' not in wire
    # A consumer steps over them: its position reaches the head, no gap left to repair.
    Inbox(notification, "intake", intake.outbox, _no_letters).catch_up()
    assert notification.position("intake") == intake.outbox_head()


def test_a_placeholder_decodes_to_a_position() -> None:
    placeholder = position_only("intake", 7)
    message = registry.decode(placeholder)
    assert message.position_only and message.notification_id == 7 and message.payload == {}
    assert message.as_dict() == placeholder


@pytest.mark.parametrize(
    "body",
    [
        {"source": "intake", "notification_id": 0},
        {"source": "intake", "notification_id": True},
        {"source": "", "notification_id": 3},
        {"source": "intake", "notification_id": "3"},
    ],
)
def test_a_malformed_placeholder_breaks_the_contract(body: dict) -> None:
    with pytest.raises(ContractViolation):
        registry.decode(body)


def test_a_private_event_is_never_encoded_nor_applied_if_forged() -> None:
    intake = IntakeApplication(env=POPO)
    intake.register_request(preservation_request("PRIV-2"), ACTOR)
    public = next(m for m in intake.outbox(1, 100) if "event" in m)
    forged = {**public, "event": "IdentifierSeen", "payload": {"request_id": "r", "case_id": "c"}}
    with pytest.raises(ContractViolation, match="private"):
        registry.decode(forged)
    with pytest.raises(ContractViolation, match="never published"):
        registry.encode(**{**_envelope(forged), "payload": forged["payload"]})


def _envelope(body: dict) -> dict:
    keys = ("source", "notification_id", "event", "originator_id", "originator_version")
    return {**{k: body[k] for k in keys}, "recorded_at": body["recorded_at"]}


def _no_letters(body: object, reason: str, consumer: str) -> None:
    raise AssertionError(f"dead-lettered: {reason}")
