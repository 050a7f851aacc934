"""Cases and requests. A request's id is derived from who sent it and their reference, so the
same foreign request can be recorded once only: the event store refuses the second creation,
whichever CP or replica tries it."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

REQUEST_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/requests")


def request_id_for(country: str, reference: str | None) -> UUID:
    """Deterministic id of a request: same requesting country + their reference = same id."""
    if not reference or not reference.strip():
        return uuid4()
    key = f"{country.upper()}|{' '.join(reference.split()).upper()}"
    return uuid5(REQUEST_NAMESPACE, key)


def our_reference(request_id: str, year: int) -> str:
    """The reference we give the requesting CP in the receipt."""
    return f"CP247-{year}-{request_id.replace('-', '')[:8].upper()}"


class Case(Aggregate):
    """A matter both CPs work on together; it holds one or more requests."""

    @staticmethod
    def create_id(case_id: str, **_: Any) -> UUID:
        return UUID(case_id)

    @event("CaseOpened")
    def __init__(
        self,
        case_id: str,
        request_id: str,
        direction: str,
        type: str,  # noqa: A002 - the API's word
        urgency: str,
        counterpart_country: str,
        actor: dict[str, str],
    ):
        self.case_id = case_id
        self.request_ids = [request_id]
        self.direction = direction
        self.type = type
        self.urgency = urgency
        self.counterpart_country = counterpart_country
        self.opened_by = actor
        self.status = "open"


class Request(Aggregate):
    """One request as received, with its checklist warnings."""

    @staticmethod
    def create_id(request_id: str, **_: Any) -> UUID:
        return UUID(request_id)

    @event("RequestReceived")
    def __init__(
        self,
        request_id: str,
        case_id: str,
        direction: str,
        type: str,  # noqa: A002
        urgency: str,
        received_via: str,
        counterpart_country: str,
        requesting_authority: dict[str, Any],
        custodian: dict[str, Any] | None,
        identifiers: list[dict[str, Any]],
        data_types: list[str],
        period_days: int | None,
        mla_intended: bool | None,
        warnings: list[str],
        received_at: str,
        our_reference: str,
        actor: dict[str, str],
    ):
        self.request_id = request_id
        self.our_reference = our_reference
        self.case_id = case_id
        self.direction = direction
        self.type = type
        self.urgency = urgency
        self.received_via = received_via
        self.counterpart_country = counterpart_country
        self.requesting_authority = requesting_authority
        self.custodian = custodian
        self.identifiers = identifiers
        self.data_types = data_types
        self.period_days = period_days
        self.mla_intended = mla_intended
        self.warnings = warnings
        self.received_at = received_at
        self.registered_by = actor
        self.duplicates: list[dict[str, Any]] = []
        self.status = "registered"

    @event("DuplicateDetected")
    def record_duplicate(
        self, case_id: str, request_id: str, received_via: str, actor: dict[str, str]
    ) -> None:
        """The same request came in again (other CP, other channel, a re-send)."""
        self.duplicates.append({"received_via": received_via, "actor": actor})
