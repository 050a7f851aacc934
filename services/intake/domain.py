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
# Which grounds may refuse which request type. Art 30(2): disclosure of traffic data may be
# refused on the Art 29(5) grounds only; dual criminality is never one for it.
ART29_5_GROUNDS = (
    "political_offence", "sovereignty", "security", "ordre_public", "essential_interests"
)  # fmt: skip
# Arts 2-11: the Convention's own offences; Art 29(4) never allows dual criminality for them.
CONVENTION_OFFENCES = range(2, 12)
ART29_6_DECISIONS = ("execute", "withdraw")
# What a request's status may be (API.md "Case and request lifecycle").
REQUEST_STATUSES = (
    "registered", "awaiting_requester", "in_progress", "refused", "withdrawn", "answered",
    "closed",
)  # fmt: skip
FINAL = ("refused", "withdrawn", "closed")
ANSWER_OUTCOMES = ("preserved", "partially_preserved", "refused", "not_possible", "data_provided")
CHANNELS = ("email", "fax", "phone", "portal", "api")


def allowed_refusal_grounds(
    request_type: str, reservation: bool, convention_articles: list[int]
) -> dict[str, str]:
    """The grounds on which a request of this type may be refused, each with its article.

    Art 29(5) for preservation; Art 29(4) adds dual criminality only for a Party with that
    reservation and an offence outside Arts 2-11; Art 30(2) limits traffic disclosure to the
    Art 29(5) grounds. Other types (formal MLA, advice) follow the general grounds of Art 27(4)
    and Art 25(4), where national law may require dual criminality.
    """
    five = {g: REFUSAL_GROUNDS[g] for g in ART29_5_GROUNDS}
    # legal-rule: art30-2-disclosure-refusal-grounds
    if request_type == "traffic_disclosure":
        return {g: t.replace("Art 29(5)", "Art 30(2)") for g, t in five.items()}
    if request_type == "preservation":
        # legal-rule: art29-4-dual-criminality-reservation
        convention_offence = any(a in CONVENTION_OFFENCES for a in convention_articles)
        if reservation and not convention_offence:
            return {**five, "dual_criminality": REFUSAL_GROUNDS["dual_criminality"]}
        return five
    return {**five, "dual_criminality": "Art 25(4)/27(4): dual criminality under national law"}


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
        self.closure: dict[str, Any] | None = None

    # --- closing -----------------------------------------------------------------------------
    def close(self, outcome: str, note: str, request_ids: list[str], actor: dict) -> None:
        """Close the case; the caller checked that nothing of it still runs."""
        if self.status == "closed":
            raise Conflict(f"case {self.case_id} is already closed")
        if not outcome.strip():
            raise Invalid("say how the case ended", {"outcome": ["required text"]})
        self._closed(self.case_id, outcome, note, request_ids, actor)

    @event("CaseClosed")
    def _closed(
        self, case_id: str, outcome: str, note: str, request_ids: list[str], actor: dict
    ) -> None:
        self.status = "closed"
        self.closure = {"outcome": outcome, "note": note, "by": actor}

    def reopen_for(self, request_id: str, actor: dict[str, str]) -> None:
        """A new request joining a closed case opens it again."""
        if self.status == "closed":
            self._reopened(self.case_id, request_id, actor)

    @event("CaseReopened")
    def _reopened(self, case_id: str, request_id: str, actor: dict[str, str]) -> None:
        self.status = "open"
        self.closure = None

    # --- several requests about the same data ------------------------------------------------
    def add_request(self, request_id: str, relation: str, related_to: str, actor: dict) -> None:
        """Another requesting Party's request about the same data, or an extension request:
        its own request, on this case (no flag: nothing for a person to confirm)."""
        self.reopen_for(request_id, actor)
        self._request_added(self.case_id, request_id, relation, related_to, actor)

    @event("RequestJoinedCase")
    def _request_added(
        self, case_id: str, request_id: str, relation: str, related_to: str, actor: dict
    ) -> None:
        self.request_ids.append(request_id)

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
        self.reopen_for(request_id, actor)
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
        kind: str = "new",
        extends: str | None = None,
        same_data_as: str | None = None,
    ):
        self.request_id = request_id
        self.kind = kind  # new | extension (of ``extends``)
        self.extends = extends
        self.same_data_as = same_data_as  # another requesting Party's request, same data
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
        self.withdrawal: dict[str, Any] | None = None
        self.notices: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []
        self.order_ids: list[str] = []
        self.under_way = False  # an order issued for it
        self.no_order: dict[str, Any] | None = None
        self.sent: dict[str, Any] | None = None
        self.foreign_receipt: dict[str, Any] | None = None
        self.answer: dict[str, Any] | None = None

    @property
    def needs_order(self) -> bool:
        """An incoming preservation request that nothing preserves yet: a person must act."""
        return (
            self.type == "preservation"
            and self.direction == "incoming"
            and self.status not in FINAL
            and not self.order_ids
            and self.no_order is None
        )

    def _not_final(self, doing: str) -> None:
        if self.status in FINAL:
            raise Conflict(f"request {self.request_id} is {self.status}; it cannot be {doing}")

    def _outgoing_only(self, doing: str) -> None:
        if self.direction != "outgoing":
            raise Conflict(f"only an outgoing request is {doing}; {self.request_id} is incoming")

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
    def refuse(
        self,
        grounds: list[str],
        explanation: str,
        allowed: dict[str, str],
        actor: dict[str, str],
    ) -> None:
        """A prosecutor's refusal, only on the grounds ``allowed`` for this request's type
        (:func:`allowed_refusal_grounds`), recorded with reasons."""
        errors: dict[str, list[str]] = {}
        # legal-rule: art29-5-refusal-grounds
        unknown = [g for g in grounds if g not in allowed]
        if not grounds or unknown:
            errors["grounds"] = [
                f"for a {self.type} request, one or more of {', '.join(allowed)}"
                + (f"; not {', '.join(unknown)}" if unknown else "")
            ]
        if not explanation.strip():
            errors["explanation"] = ["say why, for the requesting CP and the record"]
        if errors:
            raise Invalid("a refusal needs grounds the Convention allows, and reasons", errors)
        if self.refusal is not None:
            raise Conflict(f"request {self.request_id} was already refused")
        if self.direction != "incoming":
            raise Conflict("only an incoming request is refused; record the answer to ours")
        self._not_final("refused")
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

    def withdraw(self, reason: str, actor: dict[str, str]) -> None:
        """The requesting Party withdrew its request (incoming), or we withdraw ours."""
        if not reason.strip():
            raise Invalid("say why the request is withdrawn", {"reason": ["required text"]})
        if self.withdrawal is not None:
            raise Conflict(f"request {self.request_id} was already withdrawn")
        self._not_final("withdrawn")
        self._withdrawn(self.request_id, self.case_id, self.direction, reason, actor)

    @event("RequestWithdrawn")
    def _withdrawn(
        self, request_id: str, case_id: str, direction: str, reason: str, actor: dict[str, str]
    ) -> None:
        self.withdrawal = {"reason": reason, "by": actor}
        self.status = "withdrawn"

    def give_art29_6_notice(self, reason: str, explanation: str, actor: dict[str, str]) -> None:
        # legal-rule: art29-6-notice-reasons
        if reason not in ART29_6_REASONS:
            raise Invalid(
                "an Art 29(6) notice needs a reason",
                {"reason": [f"one of {', '.join(ART29_6_REASONS)}"]},
            )
        if self.status == "awaiting_requester":
            raise Conflict("an Art 29(6) notice is already waiting for the requesting Party")
        self._not_final("given an Art 29(6) notice")
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
        self.status = "awaiting_requester"

    def record_art29_6_decision(self, decision: str, note: str, actor: dict[str, str]) -> None:
        """Art 29(6): the requesting Party decides whether the request is executed anyway."""
        if decision not in ART29_6_DECISIONS:
            raise Invalid(
                "the requesting Party's decision is execute or withdraw",
                {"decision": list(ART29_6_DECISIONS)},
            )
        if self.status != "awaiting_requester":
            raise Conflict(f"request {self.request_id} awaits no Art 29(6) decision")
        self._decision_recorded(self.request_id, self.case_id, decision, note, actor)

    @event("Art296DecisionRecorded")
    def _decision_recorded(
        self, request_id: str, case_id: str, decision: str, note: str, actor: dict[str, str]
    ) -> None:
        self.decisions.append({"decision": decision, "note": note, "by": actor})
        if decision == "withdraw":
            self.withdrawal = {"reason": f"Art 29(6) decision: {note}".strip(), "by": actor}
            self.status = "withdrawn"
        else:
            self.status = "in_progress" if self.under_way else "registered"

    # --- what preservation did for it ------------------------------------------------------
    def note_order(self, order_id: str, issued: bool) -> bool:
        """An order covers this request (drafted, or issued: then the request is under way)."""
        moves = issued and not self.under_way
        if order_id in self.order_ids and not moves:
            return False
        self._order_noted(self.request_id, self.case_id, order_id, issued)
        return True

    @event("RequestOrderNoted")
    def _order_noted(self, request_id: str, case_id: str, order_id: str, issued: bool) -> None:
        if order_id not in self.order_ids:
            self.order_ids.append(order_id)
        self.under_way = self.under_way or issued
        if issued and self.status == "registered":
            self.status = "in_progress"

    def decline_order(self, reason: str, actor: dict[str, str]) -> None:
        """An officer records why a preservation request gets no order (no silent lapse)."""
        if not reason.strip():
            raise Invalid("say why no order is made", {"reason": ["required text"]})
        if not self.needs_order:
            raise Conflict(f"request {self.request_id} is not waiting for an order")
        self._order_declined(self.request_id, self.case_id, reason, actor)

    @event("RequestOrderDeclined")
    def _order_declined(
        self, request_id: str, case_id: str, reason: str, actor: dict[str, str]
    ) -> None:
        self.no_order = {"reason": reason, "by": actor}

    # --- an outgoing request's life --------------------------------------------------------
    def mark_sent(self, channel: str, at: str, chase_at: str, actor: dict[str, str]) -> None:
        self._outgoing_only("sent")
        self._not_final("sent")
        if self.sent is not None:
            raise Conflict(f"request {self.request_id} was already marked sent")
        self._sent(self.request_id, self.case_id, self.counterpart_country, channel, at,
                   chase_at, actor)  # fmt: skip

    @event("OutgoingRequestSent")
    def _sent(
        self,
        request_id: str,
        case_id: str,
        counterpart_country: str,
        channel: str,
        at: str,
        chase_at: str,
        actor: dict[str, str],
    ) -> None:
        self.sent = {"channel": channel, "at": at, "chase_at": chase_at, "by": actor}
        if self.status == "registered":
            self.status = "in_progress"

    def record_foreign_receipt(self, reference: str | None, at: str, actor: dict) -> None:
        self._outgoing_only("acknowledged by a foreign CP")
        self._not_final("acknowledged")
        if self.sent is None:
            raise Conflict("record when the request was sent first")
        if self.foreign_receipt is not None:
            raise Conflict(f"the foreign receipt of {self.request_id} is already recorded")
        self._foreign_receipt(self.request_id, self.case_id, reference, at, actor)

    @event("ForeignReceiptRecorded")
    def _foreign_receipt(
        self, request_id: str, case_id: str, reference: str | None, at: str, actor: dict
    ) -> None:
        self.foreign_receipt = {"reference": reference, "at": at, "by": actor}

    def record_answer(
        self, outcome: str, expires_at: str | None, note: str, actor: dict[str, str]
    ) -> None:
        self._outgoing_only("answered")
        self._not_final("answered")
        if self.sent is None:
            raise Conflict("record when the request was sent first")
        if self.answer is not None:
            raise Conflict(f"the answer to {self.request_id} is already recorded")
        self._answered(self.request_id, self.case_id, self.type, outcome, expires_at, note,
                       actor)  # fmt: skip

    @event("ForeignAnswerRecorded")
    def _answered(
        self,
        request_id: str,
        case_id: str,
        type: str,  # noqa: A002
        outcome: str,
        expires_at: str | None,
        note: str,
        actor: dict[str, str],
    ) -> None:
        self.answer = {"outcome": outcome, "expires_at": expires_at, "note": note, "by": actor}
        self.status = "answered"

    def close(self, actor: dict[str, str]) -> bool:
        """Its case closed: a request still open closes with it."""
        if self.status in FINAL:
            return False
        self._closed(self.request_id, self.case_id, actor)
        return True

    @event("RequestClosed")
    def _closed(self, request_id: str, case_id: str, actor: dict[str, str]) -> None:
        self.status = "closed"


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
