"""Contract decoding of a page of outbox messages, for a projection rebuild's worker process
(which decodes the next pages on the other core while the rebuild applies the current one)."""

from __future__ import annotations

from typing import Any

from events import Message, registry


def decode_page(bodies: list[Any]) -> list[Message]:
    return [registry.decode(body) for body in bodies]
