"""Envelope, registry and upcasting for cross-service events."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate


class ContractViolation(Exception):
    """An event that is unknown to the contract or does not match its schema.

    Raised on both sides: a producer never publishes such an event and a consumer never
    applies one (it is logged and dead-lettered instead).
    """

    def __init__(self, message: str, errors: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.errors = dict(errors or {})


class EnvelopeSchema(Schema):
    """What every message on the wire carries besides the event's own payload."""

    class Meta:
        unknown = RAISE

    source = fields.String(required=True, metadata={"description": "producing service"})
    notification_id = fields.Integer(
        required=True,
        validate=validate.Range(min=1),
        metadata={"description": "position in the producer's notification log (outbox)"},
    )
    event = fields.String(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    originator_id = fields.String(required=True)
    originator_version = fields.Integer(required=True)
    recorded_at = fields.String(required=True, metadata={"description": "ISO 8601, UTC"})
    payload = fields.Dict(required=True)


@dataclass(frozen=True)
class Message:
    """A decoded, validated contract event as a consumer sees it."""

    source: str
    notification_id: int
    event: str
    version: int
    originator_id: str
    originator_version: int
    recorded_at: str
    payload: dict[str, Any]

    @property
    def position_only(self) -> bool:
        """A placeholder for an event the producer keeps to itself: only its position."""
        return not self.event

    def as_dict(self) -> dict[str, Any]:
        if self.position_only:
            return position_only(self.source, self.notification_id)
        return {
            "source": self.source,
            "notification_id": self.notification_id,
            "event": self.event,
            "version": self.version,
            "originator_id": self.originator_id,
            "originator_version": self.originator_version,
            "recorded_at": self.recorded_at,
            "payload": self.payload,
        }


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# The wire form of a private event: where it stands in its producer's outbox, nothing else.
# Consumers advance their position past it (no gap to repair) and learn nothing of it.
POSITION_ONLY_KEYS = frozenset({"source", "notification_id"})


def position_only(source: str, notification_id: int) -> dict[str, Any]:
    return {"source": source, "notification_id": notification_id}


@dataclass(frozen=True)
class EventContract:
    """One published event: its name, current version, producer, schema and meaning."""

    name: str
    version: int
    source: str
    schema: type[Schema]
    description: str
    # Upcasters keyed by the version they read, each returning the next version's payload.
    upcasters: Mapping[int, Upcaster] = field(default_factory=dict)
    # Bookkeeping inside its service (an index, a note to itself): stored and sealed like any
    # event, but never published; its outbox position crosses as a placeholder only.
    private: bool = False

    @property
    def personal_fields(self) -> frozenset[str]:
        """Payload fields marked personal: stored sealed under the case's key."""
        declared = self.schema._declared_fields
        return frozenset(n for n, f in declared.items() if f.metadata.get("personal"))


class Registry:
    """All event contracts, looked up by name."""

    def __init__(self, contracts: Iterable[EventContract] = ()):
        self._contracts: dict[str, EventContract] = {}
        # One schema instance per contract: building one deep-copies every field and cost
        # more than the load itself (marshmallow 4 schemas keep no state between loads).
        self._schemas: dict[str, Schema] = {}
        self._envelope = EnvelopeSchema()
        for contract in contracts:
            self.add(contract)

    def _schema(self, contract: EventContract) -> Schema:
        schema = self._schemas.get(contract.name)
        if schema is None:
            schema = self._schemas[contract.name] = contract.schema()
        return schema

    def add(self, contract: EventContract) -> None:
        if contract.name in self._contracts:
            raise ValueError(f"event {contract.name!r} is declared twice")
        self._contracts[contract.name] = contract

    def __contains__(self, name: object) -> bool:
        return name in self._contracts

    def __iter__(self):
        return iter(sorted(self._contracts.values(), key=lambda c: (c.source, c.name)))

    def get(self, name: str) -> EventContract:
        try:
            return self._contracts[name]
        except KeyError:
            raise ContractViolation(f"unknown event {name!r}") from None

    def is_private(self, name: str) -> bool:
        contract = self._contracts.get(name)
        return contract is not None and contract.private

    def personal_fields(self, name: str) -> frozenset[str]:
        """The personal fields of a contract event; none for anything else (snapshots...)."""
        contract = self._contracts.get(name)
        return contract.personal_fields if contract else frozenset()

    def names_from(self, source: str) -> list[str]:
        return sorted(c.name for c in self._contracts.values() if c.source == source)

    def check(self, source: str, event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The payload as its contract loads it; ``ContractViolation`` if the contract does
        not allow it from ``source`` (private events are checked too, before they are stored)."""
        contract = self.get(event)
        if contract.source != source:
            raise ContractViolation(f"{event!r} belongs to {contract.source!r}, not {source!r}")
        try:
            return self._schema(contract).load(dict(payload))
        except ValidationError as exc:
            raise ContractViolation(
                f"{event} v{contract.version} payload is invalid", exc.messages
            ) from None

    def encode(
        self,
        *,
        source: str,
        notification_id: int,
        event: str,
        originator_id: str,
        originator_version: int,
        recorded_at: str,
        payload: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Build the wire form of an event, refusing anything the contract does not allow."""
        contract = self.get(event)
        if contract.private:
            raise ContractViolation(f"{event!r} is kept inside {source!r}: never published")
        schema = self._schema(contract)
        loaded = self.check(source, event, payload)
        return {
            "source": source,
            "notification_id": notification_id,
            "event": event,
            "version": contract.version,
            "originator_id": originator_id,
            "originator_version": originator_version,
            "recorded_at": recorded_at,
            "payload": schema.dump(loaded),
        }

    def decode(self, body: Any) -> Message:
        """Validate a wire message, upcast it to the current version and return it."""
        if not isinstance(body, Mapping):
            raise ContractViolation("message body is not an object")
        if body.keys() == POSITION_ONLY_KEYS:
            return self._position_only(body)
        try:
            envelope = self._envelope.load(dict(body))
        except ValidationError as exc:
            raise ContractViolation("message envelope is invalid", exc.messages) from None
        contract = self.get(envelope["event"])
        if contract.private:
            raise ContractViolation(f"{contract.name!r} is private to {contract.source!r}")
        if contract.source != envelope["source"]:
            raise ContractViolation(
                f"{contract.name!r} came from {envelope['source']!r}, not {contract.source!r}"
            )
        version, payload = envelope["version"], dict(envelope["payload"])
        if version > contract.version:
            raise ContractViolation(
                f"{contract.name} v{version} is newer than known here (v{contract.version})"
            )
        while version < contract.version:
            upcast = contract.upcasters.get(version)
            if upcast is None:
                raise ContractViolation(f"no upcaster for {contract.name} v{version}")
            payload, version = upcast(payload), version + 1
        try:
            loaded = self._schema(contract).load(payload)
        except ValidationError as exc:
            raise ContractViolation(
                f"{contract.name} v{contract.version} payload is invalid", exc.messages
            ) from None
        return Message(
            source=envelope["source"],
            notification_id=envelope["notification_id"],
            event=contract.name,
            version=contract.version,
            originator_id=envelope["originator_id"],
            originator_version=envelope["originator_version"],
            recorded_at=envelope["recorded_at"],
            payload=loaded,
        )

    def _position_only(self, body: Mapping[str, Any]) -> Message:
        source, notification_id = body["source"], body["notification_id"]
        valid_id = isinstance(notification_id, int) and not isinstance(notification_id, bool)
        if not isinstance(source, str) or not source or not valid_id or notification_id < 1:
            raise ContractViolation("position-only placeholder is invalid")
        return Message(
            source=source,
            notification_id=notification_id,
            event="",
            version=0,
            originator_id="",
            originator_version=0,
            recorded_at="",
            payload={},
        )
