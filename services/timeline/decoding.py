"""Contract decoding of a page of outbox messages, for a projection rebuild's worker process
(which decodes the next pages on the other core while the rebuild applies the current one)."""

from __future__ import annotations

from typing import Any

from cp247.casekeys import case_keys_from_env
from cp247.runtime.sealing import WireSeal
from events import Message, registry


def decode_page(bodies: list[Any], vault: dict[str, str] | None = None) -> list[Message]:
    """Each body decoded; sealed fields opened with the vault ``vault`` names (if any)."""
    keys = case_keys_from_env(vault or {})
    if keys is None:
        return [registry.decode(body) for body in bodies]
    wire = WireSeal(keys)
    return [registry.decode(wire.open(body)) for body in bodies]
