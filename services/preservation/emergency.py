"""The emergency clock (Second Additional Protocol, Art 9): a request made because of a
significant and imminent risk to the life or safety of a person must be decided in minutes,
not days.

The clock starts when an incoming emergency request is received (its ``received_at``, the
time the requesting Party sent it, not when we typed it in). It stops at the first decision:
an order for it issued to a provider, or the request refused or withdrawn. Until then, each
time the policy's ``emergency_decision_minutes`` pass it is overdue once more, and each
overdue step escalates one person further along the duty roster.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from cp247.clock import iso, parse_iso

CLOCK_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/emergency-clocks")
# Past the head of unit nobody is left to wake: the clock stays overdue on the console.
MAX_ESCALATIONS = 4


def clock_id_for(request_id: str) -> str:
    return str(uuid5(CLOCK_NAMESPACE, request_id))


class EmergencyClock(Aggregate):
    @staticmethod
    def create_id(clock_id: str, **_: Any) -> UUID:
        return UUID(clock_id)

    @event("EmergencyClockStarted")
    def __init__(
        self,
        clock_id: str,
        request_id: str,
        case_id: str,
        request_type: str,
        counterpart_country: str,
        received_at: str,
        decide_by: str,
    ):
        self.clock_id = clock_id
        self.request_id = request_id
        self.case_id = case_id
        self.request_type = request_type
        self.counterpart_country = counterpart_country
        self.received_at = received_at
        self.decide_by = decide_by
        self.escalations = 0
        self.decision: dict[str, str] | None = None

    @classmethod
    def start(cls, request: dict[str, Any], minutes: int) -> EmergencyClock:
        received = parse_iso(request["received_at"])
        return cls(
            clock_id=clock_id_for(request["request_id"]),
            request_id=request["request_id"],
            case_id=request["case_id"],
            request_type=request["type"],
            counterpart_country=request["counterpart_country"],
            received_at=iso(received),
            decide_by=iso(received + timedelta(minutes=minutes)),
        )

    @property
    def running(self) -> bool:
        return self.decision is None

    def decide(self, how: str, at: str) -> bool:
        """The first decision stops the clock (later ones change nothing)."""
        if not self.running:
            return False
        taken = parse_iso(at) - parse_iso(self.received_at)
        self._decided(self.clock_id, self.request_id, self.case_id, how, at,
                      max(0, int(taken.total_seconds() // 60)))  # fmt: skip
        return True

    @event("EmergencyDecided")
    def _decided(
        self,
        clock_id: str,
        request_id: str,
        case_id: str,
        how: str,
        decided_at: str,
        minutes_taken: int,
    ) -> None:
        self.decision = {"how": how, "at": decided_at}

    def next_escalation_at(self, minutes: int) -> datetime:
        return parse_iso(self.decide_by) + timedelta(minutes=minutes * self.escalations)

    def overdue(self, now: datetime, minutes: int) -> bool:
        """Overdue once more if another period passed undecided; True if it just did."""
        if not self.running or self.escalations >= MAX_ESCALATIONS:
            return False
        if now < self.next_escalation_at(minutes):
            return False
        self._overdue(self.clock_id, self.request_id, self.case_id, self.counterpart_country,
                      self.decide_by, self.escalations + 1)  # fmt: skip
        return True

    @event("EmergencyDecisionOverdue")
    def _overdue(
        self,
        clock_id: str,
        request_id: str,
        case_id: str,
        counterpart_country: str,
        decide_by: str,
        level: int,
    ) -> None:
        self.escalations = level
