"""Personal fields of stored events, sealed under their case's own key.

The whole stored event is already encrypted with the event store key; its personal fields
(marked ``PERSONAL`` in the event contract) are in addition sealed with AES-GCM under a key of
their case (:mod:`cp247.casekeys`). While the key lives, reading is transparent. Once
retention destroys it, those fields read as erased: an empty list or mapping, or the text
``[erased]``, so aggregates, views and contract checks keep working on the case's skeleton.
"""

from __future__ import annotations

import base64
import copy
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent

from cp247.casekeys import CaseKeys
from events import registry

ERASED = "[erased]"
_MARK = "__sealed__"
_ERASED_BY_SHAPE: dict[str, Any] = {"list": [], "dict": {}, "str": ERASED}


def _shape(value: Any) -> str:
    return "list" if isinstance(value, list) else "dict" if isinstance(value, dict) else "str"


def erased_like(shape: str) -> Any:
    return copy.copy(_ERASED_BY_SHAPE.get(shape, ERASED))


class SealingMapper(Mapper):
    """A mapper that seals personal fields on the way in and unseals them on the way out."""

    def __init__(self, *, vault: CaseKeys, **kwargs: Any):
        super().__init__(**kwargs)
        self.vault = vault

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        personal = registry.personal_fields(type(domain_event).__name__)
        case_id = getattr(domain_event, "case_id", None)
        present = [n for n in personal if getattr(domain_event, n, None) is not None]
        if present and isinstance(case_id, str) and case_id:
            key = self.vault.key_for(case_id)
            sealed = copy.copy(domain_event)
            for name in present:
                value = self._seal(key, case_id, name, getattr(domain_event, name))
                object.__setattr__(sealed, name, value)  # events are frozen; this is a copy
            domain_event = sealed
        return super().to_stored_event(domain_event)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        for name in registry.personal_fields(type(domain_event).__name__):
            value = getattr(domain_event, name, None)
            if isinstance(value, dict) and _MARK in value:
                plain = self._unseal(str(domain_event.case_id), name, value)
                object.__setattr__(domain_event, name, plain)
        return domain_event

    def _seal(self, key: bytes | None, case_id: str, name: str, value: Any) -> Any:
        shape = _shape(value)
        if key is None:  # the case was erased already: nothing personal is stored for it
            return erased_like(shape)
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, self.transcoder.encode(value), _aad(case_id, name))
        return {_MARK: 1, "shape": shape, "ct": base64.b64encode(nonce + sealed).decode()}

    def _unseal(self, case_id: str, name: str, sealed: dict[str, Any]) -> Any:
        key = self.vault.key_for(case_id, create=False)
        if key is None:
            return erased_like(sealed.get("shape", "str"))
        raw = base64.b64decode(sealed["ct"])
        return self.transcoder.decode(AESGCM(key).decrypt(raw[:12], raw[12:], _aad(case_id, name)))


def _aad(case_id: str, name: str) -> bytes:
    # Binds the sealed value to its case and field: it cannot be moved to another.
    return f"{case_id}|{name}".encode()
