"""Personal fields sealed under their case's own key: in the stores and on the wire.

The whole stored event is already encrypted with the event store key; its personal fields
(marked ``PERSONAL`` in the event contract) are in addition sealed with AES-GCM under a key of
their case (:mod:`cp247.casekeys`). The same fields are sealed again in every message that
crosses the broker (:class:`WireSeal`): quorum queues and dead letters keep messages on the
broker's disk, and what they keep must be no more readable than the stores. While the key
lives, reading is transparent. Once retention destroys it, those fields read as erased, in a
store or in a message still queued: an empty list or mapping, or the text ``[erased]``, so
aggregates, views and contract checks keep working on the case's skeleton.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent

from cp247.casekeys import CaseKeys
from events import ContractViolation, registry

ERASED = "[erased]"
_MARK = "__sealed__"
_ERASED_BY_SHAPE: dict[str, Any] = {"list": [], "dict": {}, "str": ERASED}


def _shape(value: Any) -> str:
    return "list" if isinstance(value, list) else "dict" if isinstance(value, dict) else "str"


def erased_like(shape: str) -> Any:
    return copy.copy(_ERASED_BY_SHAPE.get(shape, ERASED))


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and _MARK in value


class FieldSeal:
    """Seals one field's value under its case's key, bound to that case and field."""

    def __init__(
        self, vault: CaseKeys, dumps: Callable[[Any], bytes], loads: Callable[[bytes], Any]
    ):
        self.vault = vault
        self.dumps = dumps
        self.loads = loads

    def seal(self, case_id: str, name: str, value: Any) -> Any:
        shape = _shape(value)
        key = self.vault.key_for(case_id)
        if key is None:  # the case was erased already: nothing personal is kept for it
            return erased_like(shape)
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, self.dumps(value), _aad(case_id, name))
        return {_MARK: 1, "shape": shape, "ct": base64.b64encode(nonce + sealed).decode()}

    def open(self, case_id: str, name: str, sealed: dict[str, Any]) -> Any:
        """The plain value; erased once the case's key is destroyed. Raises ``InvalidTag``
        for a value sealed for another case or field, or tampered with."""
        key = self.vault.key_for(case_id, create=False)
        if key is None:
            return erased_like(sealed.get("shape", "str"))
        raw = base64.b64decode(sealed["ct"])
        return self.loads(AESGCM(key).decrypt(raw[:12], raw[12:], _aad(case_id, name)))


class SealingMapper(Mapper):
    """A mapper that seals personal fields on the way in and unseals them on the way out."""

    def __init__(self, *, vault: CaseKeys, **kwargs: Any):
        super().__init__(**kwargs)
        self.vault = vault
        self.fields = FieldSeal(vault, self.transcoder.encode, self.transcoder.decode)

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        personal = registry.personal_fields(type(domain_event).__name__)
        case_id = getattr(domain_event, "case_id", None)
        present = [n for n in personal if getattr(domain_event, n, None) is not None]
        if present and isinstance(case_id, str) and case_id:
            sealed = copy.copy(domain_event)
            for name in present:
                value = self.fields.seal(case_id, name, getattr(domain_event, name))
                object.__setattr__(sealed, name, value)  # events are frozen; this is a copy
            domain_event = sealed
        return super().to_stored_event(domain_event)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        for name in registry.personal_fields(type(domain_event).__name__):
            value = getattr(domain_event, name, None)
            if is_sealed(value):
                plain = self.fields.open(str(domain_event.case_id), name, value)
                object.__setattr__(domain_event, name, plain)
        return domain_event


class WireSeal:
    """Personal payload fields of contract messages, sealed for the broker and opened again
    by the consumer (which shares the vault): nothing personal rests on the broker in clear,
    and a message still queued when its case is erased reads as erased."""

    def __init__(self, vault: CaseKeys):
        self.fields = FieldSeal(vault, _json_bytes, json.loads)

    def seal(self, body: dict[str, Any]) -> dict[str, Any]:
        """A copy of an encoded message with its personal payload fields sealed."""
        if "payload" not in body:  # a private event's placeholder: a position, nothing more
            return body
        personal = registry.personal_fields(body["event"])
        payload = body["payload"]
        case_id = payload.get("case_id")
        present = [n for n in personal if payload.get(n) is not None]
        if not present or not isinstance(case_id, str) or not case_id:
            return body
        sealed = dict(payload)
        for name in present:
            sealed[name] = self.fields.seal(case_id, name, payload[name])
        return {**body, "payload": sealed}

    def open(self, body: Any) -> Any:
        """The message with its sealed fields opened (anything else passes through, for the
        contract to judge). Raises ``ContractViolation`` for a value that does not open: one
        moved to another case or field, or tampered with."""
        if not isinstance(body, Mapping) or not isinstance(body.get("payload"), Mapping):
            return body
        event = body.get("event")
        payload = body["payload"]
        names = [n for n in registry.personal_fields(str(event)) if is_sealed(payload.get(n))]
        if not names:
            return body
        opened = dict(payload)
        case_id = str(payload.get("case_id"))
        for name in names:
            try:
                opened[name] = self.fields.open(case_id, name, payload[name])
            except (InvalidTag, KeyError, TypeError, ValueError, binascii.Error):
                raise ContractViolation(f"{event}: sealed field {name!r} does not open") from None
        return {**body, "payload": opened}


class SealedArguments:
    """Personal values of an RPC call sealed like a message's fields: a production's bytes
    cross the broker from the gateway to isp_liaison no more readable than its events."""

    def __init__(self, vault: CaseKeys):
        self.fields = FieldSeal(vault, _json_bytes, json.loads)

    def seal(self, case_id: str, name: str, value: Any) -> Any:
        return self.fields.seal(case_id, name, value)

    def open(self, case_id: str, name: str, value: Any) -> Any:
        """The plain value (a value never sealed passes as it is); ``ValueError`` for one
        that does not open (sealed for another case or argument, or tampered with)."""
        if not is_sealed(value):
            return value
        try:
            return self.fields.open(case_id, name, value)
        except (InvalidTag, KeyError, TypeError, ValueError, binascii.Error):
            raise ValueError(f"sealed argument {name!r} does not open") from None


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _aad(case_id: str, name: str) -> bytes:
    # Binds the sealed value to its case and field: it cannot be moved to another.
    return f"{case_id}|{name}".encode()
