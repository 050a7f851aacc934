"""The preservation order: one per provider, drafted, approved where national law requires,
issued for at least 60 days, acknowledged by the provider."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from cp247.clock import iso, parse_iso
from cp247.errors import Conflict, Invalid

ORDER_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/preservation-orders")
LEGAL_BASIS = "Budapest Convention Art 29 (expedited preservation of stored computer data)"


def order_id_for(request_id: str, provider_id: str) -> str:
    """The order a registered request gives rise to, the same however often it is processed."""
    return str(uuid5(ORDER_NAMESPACE, f"{request_id}|{provider_id}"))


def preservation_expiry(issued_at: datetime, period_days: int) -> datetime:
    return issued_at + timedelta(days=period_days)


class IssuedOnApproval:
    """The steps both kinds of order to a provider share: issued at once, or once a
    prosecutor approved it where the national policy makes the drafter's role wait."""

    order_id: str
    case_id: str
    status: str

    def approve(self, actor: dict[str, str], now: datetime) -> None:
        if self.status != "awaiting_approval":
            raise Conflict(f"order {self.order_id} is {self.status}, not awaiting approval")
        # Each kind records its own approval and issue events (their topics are its own).
        self._approved(self.order_id, self.case_id, actor)  # type: ignore[attr-defined]
        self.issue(actor, now)  # type: ignore[attr-defined]

    def _issuable(self) -> None:
        if self.status not in ("drafted", "awaiting_approval"):
            raise Conflict(f"order {self.order_id} is already {self.status}")


class PreservationOrder(IssuedOnApproval, Aggregate):
    @staticmethod
    def create_id(order_id: str, **_: Any) -> UUID:
        return UUID(order_id)

    @event("OrderDrafted")
    def __init__(
        self,
        order_id: str,
        case_id: str,
        request_id: str | None,
        provider_id: str,
        identifiers: list[dict[str, Any]],
        data_types: list[str],
        period_days: int,
        legal_basis: str,
        direction: str,
        mla_intended: bool | None,
        actor: dict[str, str],
    ):
        self.order_id = order_id
        self.case_id = case_id
        self.request_id = request_id
        self.provider_id = provider_id
        self.identifiers = identifiers
        self.data_types = data_types
        self.period_days = period_days
        self.legal_basis = legal_basis
        self.direction = direction
        self.mla_intended = mla_intended
        self.drafted_by = actor
        self.status = "drafted"
        self.issued_at: str | None = None
        self.expires_at: str | None = None
        self.acknowledged_at: str | None = None
        self.approved_by: dict[str, str] | None = None
        self.delivered_at: str | None = None
        self.outcome: dict[str, Any] | None = None
        self.extensions: list[dict[str, Any]] = []
        self.holds: dict[str, str] = {}  # mla_id -> reason (Art 29(7))
        self.closed: dict[str, Any] | None = None
        # The requests (one per requesting Party) this order preserves for: it runs until
        # none of them still needs it.
        self.request_ids: list[str] = [request_id] if request_id else []

    # --- several requesting Parties ------------------------------------------------------
    def cover(self, request_id: str, actor: dict[str, str]) -> bool:
        """Another request (another Party, or an extension) needs the same data."""
        if request_id in self.request_ids or self.closed is not None:
            return False
        self._covered(
            self.order_id, self.case_id, request_id, self.provider_id,
            self.issued_at is not None, self.expires_at, actor,
        )  # fmt: skip
        return True

    @event("OrderCoversRequest")
    def _covered(
        self,
        order_id: str,
        case_id: str,
        request_id: str,
        provider_id: str,
        issued: bool,
        expires_at: str | None,
        actor: dict[str, str],
    ) -> None:
        self.request_ids.append(request_id)

    def drop_request(self, request_id: str, reason: str) -> bool:
        """A request no longer needs the data (refused, withdrawn); True if it was covered."""
        if request_id not in self.request_ids or self.closed is not None:
            return False
        self._dropped(self.order_id, self.case_id, request_id, reason)
        return True

    @event("OrderRequestDropped")
    def _dropped(self, order_id: str, case_id: str, request_id: str, reason: str) -> None:
        self.request_ids.remove(request_id)

    # --- approval --------------------------------------------------------------------------
    def request_approval(self, reason: str, actor: dict[str, str]) -> None:
        self._approval_requested(self.order_id, self.case_id, reason, actor, self.provider_id)

    @event("OrderApprovalRequested")
    def _approval_requested(
        self,
        order_id: str,
        case_id: str,
        reason: str,
        actor: dict[str, str],
        provider_id: str | None = None,
    ) -> None:
        self.status = "awaiting_approval"

    @event("OrderApproved")
    def _approved(self, order_id: str, case_id: str, actor: dict[str, str]) -> None:
        self.approved_by = actor

    # --- issue -----------------------------------------------------------------------------
    def issue(self, actor: dict[str, str], now: datetime) -> None:
        self._issuable()
        self._issued(
            order_id=self.order_id,
            case_id=self.case_id,
            request_id=self.request_id,
            provider_id=self.provider_id,
            identifiers=self.identifiers,
            data_types=self.data_types,
            legal_basis=self.legal_basis,
            direction=self.direction,
            mla_intended=self.mla_intended,
            issued_at=iso(now),
            expires_at=iso(preservation_expiry(now, self.period_days)),
            actor=actor,
            request_ids=list(self.request_ids),
        )

    @event("OrderIssued")
    def _issued(
        self,
        order_id: str,
        case_id: str,
        request_id: str | None,
        provider_id: str,
        identifiers: list[dict[str, Any]],
        data_types: list[str],
        legal_basis: str,
        direction: str,
        mla_intended: bool | None,
        issued_at: str,
        expires_at: str,
        actor: dict[str, str],
        request_ids: list[str] | None = None,
    ) -> None:
        self.status = "issued"
        self.issued_at = issued_at
        self.expires_at = expires_at

    # --- provider --------------------------------------------------------------------------
    def record_acknowledgement(self, acknowledged_at: str, actor: dict[str, str]) -> bool:
        """Record the provider's acknowledgement once; later ones change nothing."""
        if self.acknowledged_at is not None:
            return False
        self._acknowledged(self.order_id, self.case_id, self.provider_id, acknowledged_at, actor)
        return True

    @event("OrderAcknowledged")
    def _acknowledged(
        self,
        order_id: str,
        case_id: str,
        provider_id: str,
        acknowledged_at: str,
        actor: dict[str, str],
    ) -> None:
        self.acknowledged_at = acknowledged_at
        if self.status == "issued":
            self.status = "acknowledged"

    # --- what the provider reports ---------------------------------------------------------
    def record_delivery(self, delivered_at: str, channel: str) -> bool:
        if self.delivered_at is not None:
            return False
        self._delivery_recorded(self.order_id, self.case_id, delivered_at, channel)
        return True

    @event("OrderDeliveryRecorded")
    def _delivery_recorded(
        self, order_id: str, case_id: str, delivered_at: str, channel: str
    ) -> None:
        self.delivered_at = delivered_at

    def record_outcome(self, outcome: str, detail: dict[str, Any], actor: dict[str, str]) -> bool:
        """The provider preserved the data, or it was not available; once."""
        if self.outcome is not None or self.closed is not None:
            return False
        self._outcome_recorded(self.order_id, self.case_id, outcome, detail, actor)
        return True

    @event("OrderOutcomeRecorded")
    def _outcome_recorded(
        self,
        order_id: str,
        case_id: str,
        outcome: str,
        detail: dict[str, Any],
        actor: dict[str, str],
    ) -> None:
        self.outcome = {"outcome": outcome, **detail}
        self.status = outcome  # preserved | unavailable

    # --- the period ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.issued_at is not None and self.closed is None and self.status != "unavailable"

    def extension_left(self, maximum_total: int) -> int:
        """Days still allowed over all extensions of this order (Art 16(2))."""
        return maximum_total - sum(e["days"] for e in self.extensions)

    def extend(self, days: int, maximum_total: int, actor: dict[str, str]) -> None:
        """Add days to the period, within the national maximum for all extensions."""
        if not self.running:
            raise Conflict(f"order {self.order_id} is {self.status}; it cannot be extended")
        left = self.extension_left(maximum_total)
        if days < 1 or days > left:  # legal-rule: art16-2-extension-maximum
            raise Invalid(
                "the extension is outside what national policy allows",
                {"days": [f"1 to {left} more days for this order"]},
            )
        new_expiry = iso(parse_iso(self.expires_at) + timedelta(days=days))
        self._extended(self.order_id, self.case_id, self.provider_id, days, new_expiry, actor)

    @event("OrderExtended")
    def _extended(
        self,
        order_id: str,
        case_id: str,
        provider_id: str,
        days: int,
        expires_at: str,
        actor: dict[str, str],
    ) -> None:
        self.extensions.append({"days": days, "by": actor})
        self.expires_at = expires_at
        self.status = "extended"

    def release(
        self,
        reason: str,
        actor: dict[str, str],
        notice: str | None = None,
        decided: bool = False,
    ) -> None:
        """Release the data. ``notice`` is what the provider is told (neutral words; the
        reason may be confidential). ``decided``: the legal basis itself ended (a refusal or
        a withdrawal), which no MLA hold outlives."""
        if self.closed is not None:
            raise Conflict(f"order {self.order_id} is already {self.status}")
        if not reason.strip():
            raise Invalid("say why the data may be released", {"reason": ["required"]})
        # legal-rule: art29-7-release-held
        if self.holds and not decided:
            raise Conflict(
                "Art 29(7): an MLA request for these data is pending "
                f"({', '.join(sorted(self.holds))}); the preservation continues until it is "
                "decided"
            )
        self._released(
            self.order_id, self.case_id, self.provider_id, reason, actor,
            notice or "The data need no longer be preserved under this order.",
        )  # fmt: skip

    @event("OrderReleased")
    def _released(
        self,
        order_id: str,
        case_id: str,
        provider_id: str,
        reason: str,
        actor: dict[str, str],
        notice: str | None = None,
    ) -> None:
        self.closed = {"as": "released", "reason": reason, "by": actor, "notice": notice}
        self.holds = {}
        self.status = "released"

    # --- Art 29(7): MLA received keeps the data until it is decided ------------------------
    def hold_for_mla(self, mla_id: str) -> bool:
        if mla_id in self.holds or self.closed is not None:
            return False
        self._held(self.order_id, self.case_id, mla_id)
        return True

    @event("OrderHeldForMla")
    def _held(self, order_id: str, case_id: str, mla_id: str) -> None:
        self.holds[mla_id] = "MLA received (Art 29(7))"

    def lift_hold(self, mla_id: str, decision: str) -> bool:
        if mla_id not in self.holds:
            return False
        self._hold_lifted(self.order_id, self.case_id, mla_id, decision)
        return True

    @event("OrderHoldLifted")
    def _hold_lifted(self, order_id: str, case_id: str, mla_id: str, decision: str) -> None:
        del self.holds[mla_id]

    def due_to_expire(self, now: datetime) -> bool:
        return (
            self.running
            and not self.holds  # legal-rule: art29-7-mla-hold
            and self.expires_at is not None
            and parse_iso(self.expires_at) <= now
        )

    def expire(self, now: datetime) -> bool:
        if not self.due_to_expire(now):
            return False
        self._expired(self.order_id, self.case_id, self.provider_id, iso(now))
        return True

    @event("OrderExpired")
    def _expired(self, order_id: str, case_id: str, provider_id: str, expired_at: str) -> None:
        self.closed = {"as": "expired", "at": expired_at}
        self.status = "expired"


STANDING_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/request-standing")


def standing_id_for(request_id: str) -> str:
    return str(uuid5(STANDING_NAMESPACE, request_id))


class RequestStanding(Aggregate):
    """Whether a request may still have orders issued for it, as preservation learns it."""

    @staticmethod
    def create_id(request_id: str, **_: Any) -> UUID:
        return UUID(standing_id_for(request_id))

    @event("RequestStandingNoted")
    def __init__(self, request_id: str, case_id: str):
        self.request_id = request_id
        self.case_id = case_id
        self.state = "active"  # active | ended (refused or withdrawn)
        self.order_ids: list[str] = []

    def note_order(self, order_id: str) -> bool:
        if order_id in self.order_ids:
            return False
        self._order_noted(self.request_id, self.case_id, order_id)
        return True

    @event("RequestStandingOrderNoted")
    def _order_noted(self, request_id: str, case_id: str, order_id: str) -> None:
        self.order_ids.append(order_id)

    @event("RequestStandingChanged")
    def change(self, request_id: str, case_id: str, state: str, why: str) -> None:
        self.state = state
