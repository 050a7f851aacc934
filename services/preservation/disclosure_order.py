"""The disclosure order: a listed provider is ordered to hand data over by a due-by time.

Where a preservation order keeps data, a disclosure order obtains them: the subscriber behind
an address at a given second, or traffic data (content only where national law allows it).
It is approved like a preservation order, under the national policy, and it has no period:
it runs until the provider answers (produces, or says why it cannot) or it is withdrawn,
and its due-by time drives the reminders and the escalation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from cp247.clock import iso, parse_iso
from cp247.errors import Conflict
from services.preservation.domain import IssuedOnApproval

# The domestic power to order production (Art 18) used for the requesting Party (Art 25).
LEGAL_BASIS = (
    "Budapest Convention Art 18 (production order), in mutual assistance (Art 25); "
    "Second Additional Protocol Art 7-9 where it applies"
)
KIND = "disclosure"


class DisclosureOrder(IssuedOnApproval, Aggregate):
    emergency: bool = False  # orders drafted before the emergency clock were not

    @staticmethod
    def create_id(order_id: str, **_: Any) -> UUID:
        return UUID(order_id)

    @event("DisclosureOrderDrafted")
    def __init__(
        self,
        order_id: str,
        case_id: str,
        request_id: str | None,
        provider_id: str,
        identifiers: list[dict[str, Any]],
        data_types: list[str],
        legal_basis: str,
        due_by: str,
        actor: dict[str, str],
        emergency: bool = False,
    ):
        self.order_id = order_id
        self.emergency = emergency  # P2 Art 9: it answers an emergency request
        self.case_id = case_id
        self.request_id = request_id
        self.provider_id = provider_id
        self.identifiers = identifiers
        self.data_types = data_types
        self.legal_basis = legal_basis
        self.due_by = due_by
        self.drafted_by = actor
        self.status = "drafted"
        self.approved_by: dict[str, str] | None = None
        self.issued_at: str | None = None
        self.acknowledged_at: str | None = None
        self.unavailable_reason: str | None = None
        self.withdrawn: dict[str, Any] | None = None
        self.productions: list[str] = []
        self.produced_files: dict[str, list[dict[str, Any]]] = {}  # by production id
        self.reminded_at: int | None = None  # the offset (hours before due) last reminded at
        self.overdue = False

    # --- approval, as for preservation (national policy) ----------------------------------
    def request_approval(self, reason: str, actor: dict[str, str]) -> None:
        self._approval_requested(self.order_id, self.case_id, self.provider_id, reason, actor)

    @event("DisclosureApprovalRequested")
    def _approval_requested(
        self, order_id: str, case_id: str, provider_id: str, reason: str, actor: dict[str, str]
    ) -> None:
        self.status = "awaiting_approval"

    @event("DisclosureOrderApproved")
    def _approved(self, order_id: str, case_id: str, actor: dict[str, str]) -> None:
        self.approved_by = actor

    # --- issue -----------------------------------------------------------------------------
    def issue(self, actor: dict[str, str], now: datetime) -> None:
        self._issuable()
        if parse_iso(self.due_by) <= now:
            raise Conflict(f"order {self.order_id} was due by {self.due_by}: draft a new one")
        self._issued(
            order_id=self.order_id,
            case_id=self.case_id,
            request_id=self.request_id,
            provider_id=self.provider_id,
            identifiers=self.identifiers,
            data_types=self.data_types,
            legal_basis=self.legal_basis,
            issued_at=iso(now),
            due_by=self.due_by,
            actor=actor,
            emergency=self.emergency,
        )

    @event("DisclosureOrderIssued")
    def _issued(
        self,
        order_id: str,
        case_id: str,
        request_id: str | None,
        provider_id: str,
        identifiers: list[dict[str, Any]],
        data_types: list[str],
        legal_basis: str,
        issued_at: str,
        due_by: str,
        actor: dict[str, str],
        emergency: bool = False,
    ) -> None:
        self.status = "issued"
        self.issued_at = issued_at

    # --- the provider ----------------------------------------------------------------------
    def record_acknowledgement(self, acknowledged_at: str) -> bool:
        if self.acknowledged_at is not None or self.status != "issued":
            return False
        self._acknowledged(self.order_id, self.case_id, self.provider_id, acknowledged_at)
        return True

    @event("DisclosureAcknowledged")
    def _acknowledged(
        self, order_id: str, case_id: str, provider_id: str, acknowledged_at: str
    ) -> None:
        self.acknowledged_at = acknowledged_at
        self.status = "acknowledged"

    # --- the due-by clock ------------------------------------------------------------------
    def clocks_due(self, now: datetime, reminder_hours: tuple[int, ...]) -> bool:
        """Remind as the due-by nears and mark the order overdue once it passes unanswered;
        True if either is due now. An offset counts only if shorter than the whole time the
        provider was given, and offsets passed together (after an outage) remind once."""
        if self.status not in ("issued", "acknowledged") or self.issued_at is None:
            return False
        due = parse_iso(self.due_by)
        if now >= due:
            if self.overdue:
                return False
            self._overdue(self.order_id, self.case_id, self.provider_id, self.due_by)
            return True
        given = due - parse_iso(self.issued_at)
        passed = [h for h in reminder_hours if timedelta(hours=h) < given]
        passed = [h for h in passed if now >= due - timedelta(hours=h)]
        nearest = min(passed, default=None)
        if nearest is None or (self.reminded_at is not None and nearest >= self.reminded_at):
            return False
        self._reminder_due(self.order_id, self.case_id, self.provider_id, self.due_by, nearest)
        return True

    @event("DisclosureReminderDue")
    def _reminder_due(
        self, order_id: str, case_id: str, provider_id: str, due_by: str, offset_hours: int
    ) -> None:
        self.reminded_at = offset_hours

    @event("DisclosureOverdue")
    def _overdue(self, order_id: str, case_id: str, provider_id: str, due_by: str) -> None:
        self.overdue = True

    # --- a decision that ends it --------------------------------------------------------------
    @property
    def open(self) -> bool:
        return self.status in ("drafted", "awaiting_approval", "issued", "acknowledged")

    def withdraw(self, reason: str, notice: str, actor: dict[str, str]) -> bool:
        """The order ends before it is answered (its request refused or withdrawn); the
        provider is told in ``notice``, neutral words. False if it had ended already."""
        if not self.open:
            return False
        self._withdrawn(self.order_id, self.case_id, self.provider_id, reason, notice, actor)
        return True

    @event("DisclosureOrderWithdrawn")
    def _withdrawn(
        self,
        order_id: str,
        case_id: str,
        provider_id: str,
        reason: str,
        notice: str,
        actor: dict[str, str],
    ) -> None:
        self.status = "withdrawn"
        self.withdrawn = {"reason": reason, "by": actor}

    def record_produced(self, production_id: str, files: list[dict[str, Any]]) -> bool:
        """The provider produced data (the bytes stay with isp_liaison, sealed; here what
        each file is: its name, size and SHA-256, for what is disclosed)."""
        if production_id in self.productions or self.status not in (
            "issued",
            "acknowledged",
            "produced",
        ):
            return False
        described = [{"name": f["name"], "sha256": f["sha256"], "size": f["size"]} for f in files]
        self._produced(self.order_id, self.case_id, production_id, described)
        return True

    @event("DisclosureProduced")
    def _produced(
        self, order_id: str, case_id: str, production_id: str, files: list[dict[str, Any]]
    ) -> None:
        self.productions = [*self.productions, production_id]
        self.produced_files = {**self.produced_files, production_id: files}
        self.status = "produced"

    def record_unavailable(self, reason: str) -> bool:
        """The provider cannot hand the data over (why is on the timeline from isp_liaison)."""
        if self.status not in ("issued", "acknowledged"):
            return False
        self._unavailable(self.order_id, self.case_id, reason)
        return True

    @event("DisclosureUnavailable")
    def _unavailable(self, order_id: str, case_id: str, reason: str) -> None:
        self.status = "unavailable"
        self.unavailable_reason = reason
