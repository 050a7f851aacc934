"""The published event contract of cp247.

Every event that crosses a service boundary is declared here, once, as a marshmallow schema
with a name and a version. Services serialise and deserialise only through :data:`registry`.
"""

from events.catalogue import registry
from events.contract import (
    ContractViolation,
    EventContract,
    Message,
    Registry,
)

__all__ = ["ContractViolation", "EventContract", "Message", "Registry", "registry"]
