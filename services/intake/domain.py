"""Cases and requests. A request's id is derived from who sent it and their reference, so the
same foreign request can be recorded once only: the event store refuses the second creation,
whichever CP or replica tries it. Requests about the same identifiers at the same provider
and time are found through an identifier index (one small aggregate per identifier), joined
to the first case and flagged for a human to confirm or split."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from cp247.clock import parse_iso
from cp247.errors import Conflict, Invalid

REQUEST_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/requests")
INDEX_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/identifier-index")

LEADS = ("police", "prosecution")
# Art 29(5): the only grounds to refuse preservation; Art 29(4): dual criminality, only for a
# Party with that reservation and offences outside Arts 2-11.
REFUSAL_GROUNDS = {
    "political_offence": "Art 29(5)(a): a political offence or one connected with it",
    "sovereignty": "Art 29(5)(b): prejudice to sovereignty",
    "security": "Art 29(5)(b): prejudice to security",
    "ordre_public": "Art 29(5)(b): prejudice to ordre public",
    "essential_interests": "Art 29(5)(b): prejudice to other essential interests",
    "dual_criminality": "Art 29(4): dual criminality not met (reservation made)",
}
# Art 29(6): the requesting Party must be told promptly and decide.
ART29_6_REASONS = {
    "availability": "preservation will not ensure the future availability of the data",
    "confidentiality": "preservation will threaten the confidentiality of the investigation",
    "prejudice": "preservation will otherwise prejudice the investigation",
}


def request_id_for(country: str, reference: str | None) -> UUID:
    """Deterministic id of a request: same requesting country + their reference = same id."""
    if not reference or not reference.strip():
        return uuid4()
    key = f"{country.upper()}|{' '.join(reference.split()).upper()}"
    return uuid5(REQUEST_NAMESPACE, key)


def our_reference(request_id: str, year: int) -> str:
    """The reference we give the requesting CP in the receipt."""
    return f"CP247-{year}-{request_id.replace('-', '')[:8].upper()}"


def index_key(kind: str, value: str, provider_id: str | None, pepper: bytes = b"") -> str:
    """The index entry's name: a keyed digest, so the index itself names no identifier (it
    outlives the cases whose personal data retention erases)."""
    plain = f"{kind}|{value}|{provider_id or '-'}".encode()
    return hmac.new(pepper, plain, hashlib.sha256).hexdigest()


def index_id(key: str) -> UUID:
    return uuid5(INDEX_NAMESPACE, key)


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
        self.lead: str | None = None
        self.flags: list[dict[str, Any]] = []

    # --- triage ----------------------------------------------------------------------------
    def assign_lead(self, lead: str, actor: dict[str, str]) -> bool:
        """Which of the two CPs leads; assigning the same lead again records nothing."""
        if lead not in LEADS:
            raise Invalid("the lead must be police or prosecution", {"lead": [f"one of {LEADS}"]})
        if lead == self.lead:
            return False
        self._lead_assigned(self.case_id, lead, actor)
        return True

    @event("CaseLeadAssigned")
    def _lead_assigned(self, case_id: str, lead: str, actor: dict[str, str]) -> None:
        self.lead = lead

    # --- near duplicates -------------------------------------------------------------------
    def join(self, request_id: str, matched_request_id: str, reason: str, actor: dict) -> None:
        self._joined(self.case_id, request_id, matched_request_id, reason, actor)

    @event("RelatedRequestJoined")
    def _joined(
        self,
        case_id: str,
        request_id: str,
        matched_request_id: str,
        reason: str,
        actor: dict[str, str],
    ) -> None:
        self.request_ids.append(request_id)
        self.flags.append(
            {
                "kind": "near_duplicate",
                "request_id": request_id,
                "matches": matched_request_id,
                "reason": reason,
                "status": "open",
            }
        )

    def open_flag(self, request_id: str) -> dict[str, Any]:
        for flag in self.flags:
            if flag["request_id"] == request_id and flag["status"] == "open":
                return flag
        raise Conflict(f"request {request_id} has no open near-duplicate flag on this case")

    def resolve(self, request_id: str, resolution: str, new_case_id: str | None, actor: dict):
        self.open_flag(request_id)
        self._resolved(self.case_id, request_id, resolution, new_case_id, actor)

    @event("NearDuplicateResolved")
    def _resolved(
        self,
        case_id: str,
        request_id: str,
        resolution: str,
        new_case_id: str | None,
        actor: dict[str, str],
    ) -> None:
        for flag in self.flags:
            if flag["request_id"] == request_id and flag["status"] == "open":
                flag["status"] = resolution
        if resolution == "split":
            self.request_ids.remove(request_id)


class Request(Aggregate):
    """One request as received, with its checklist warnings and completeness."""

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
        completeness: float,
        near_duplicate_of: str | None,
        acknowledge_to: dict[str, Any] | None,
        details: dict[str, Any],
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
        self.completeness = completeness
        self.near_duplicate_of = near_duplicate_of
        self.acknowledge_to = acknowledge_to
        self.details = details
        self.received_at = received_at
        self.registered_by = actor
        self.duplicates: list[dict[str, Any]] = []
        self.status = "registered"
        self.refusal: dict[str, Any] | None = None
        self.notices: list[dict[str, Any]] = []

    @event("DuplicateDetected")
    def record_duplicate(
        self, case_id: str, request_id: str, received_via: str, actor: dict[str, str]
    ) -> None:
        """The same request came in again (other CP, other channel, a re-send)."""
        self.duplicates.append({"received_via": received_via, "actor": actor})

    def move_to(self, case_id: str, actor: dict[str, str]) -> None:
        self._moved(self.request_id, self.case_id, case_id, actor)

    @event("RequestMovedToCase")
    def _moved(
        self, request_id: str, from_case_id: str, case_id: str, actor: dict[str, str]
    ) -> None:
        self.case_id = case_id

    # --- decisions -------------------------------------------------------------------------
    def refuse(self, grounds: list[str], explanation: str, actor: dict[str, str]) -> None:
        """A prosecutor's refusal, only on the Convention's grounds, recorded with reasons."""
        errors: dict[str, list[str]] = {}
        unknown = [g for g in grounds if g not in REFUSAL_GROUNDS]
        if not grounds or unknown:
            errors["grounds"] = [f"one or more of {', '.join(REFUSAL_GROUNDS)}"]
        if not explanation.strip():
            errors["explanation"] = ["say why, for the requesting CP and the record"]
        if errors:
            raise Invalid("a refusal needs Convention grounds and an explanation", errors)
        if self.refusal is not None:
            raise Conflict(f"request {self.request_id} was already refused")
        self._refused(self.request_id, self.case_id, sorted(set(grounds)), explanation, actor)

    @event("RequestRefused")
    def _refused(
        self,
        request_id: str,
        case_id: str,
        grounds: list[str],
        explanation: str,
        actor: dict[str, str],
    ) -> None:
        self.refusal = {"grounds": grounds, "explanation": explanation, "by": actor}
        self.status = "refused"

    def give_art29_6_notice(self, reason: str, explanation: str, actor: dict[str, str]) -> None:
        if reason not in ART29_6_REASONS:
            raise Invalid(
                "an Art 29(6) notice needs a reason",
                {"reason": [f"one of {', '.join(ART29_6_REASONS)}"]},
            )
        self._notice_given(self.request_id, self.case_id, reason, explanation, actor)

    @event("Art296NoticeGiven")
    def _notice_given(
        self,
        request_id: str,
        case_id: str,
        reason: str,
        explanation: str,
        actor: dict[str, str],
    ) -> None:
        self.notices.append({"reason": reason, "explanation": explanation, "by": actor})


class IdentifierIndex(Aggregate):
    """Which requests named one identifier at one provider, and for when.

    One aggregate per (kind, normalised value, provider): a look-up is one read by id, so
    near-duplicate detection costs the same with ten cases or a hundred thousand.
    """

    @staticmethod
    def create_id(key: str, **_: Any) -> UUID:
        return index_id(key)

    @event("IdentifierIndexStarted")
    def __init__(self, key: str):
        self.key = key
        self.sightings: list[dict[str, Any]] = []

    @event("IdentifierSeen")
    def seen(self, request_id: str, case_id: str, observed_at: str | None) -> None:
        self.sightings.append(
            {"request_id": request_id, "case_id": case_id, "observed_at": observed_at}
        )

    def match(
        self, observed_at: str | None, tolerance: timedelta, exclude_request: str
    ) -> dict[str, Any] | None:
        """The first earlier sighting within the tolerance (no time on either side matches)."""
        for sighting in self.sightings:
            if sighting["request_id"] == exclude_request:
                continue
            if observed_at is None or sighting["observed_at"] is None:
                return sighting
            gap = abs(parse_iso(observed_at) - parse_iso(sighting["observed_at"]))
            if gap <= tolerance:
                return sighting
        return None
