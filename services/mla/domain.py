"""The MLA follow-up of a preservation order: the paper's biggest operational failure is
preservation never followed by MLA, so the expectation is recorded the moment an order runs."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from cp247.errors import Conflict

FOLLOW_UP_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/mla-follow-ups")


def follow_up_id_for(order_id: str) -> str:
    return str(uuid5(FOLLOW_UP_NAMESPACE, order_id))


class MlaFollowUp(Aggregate):
    """MLA expected for one preservation order, due before the order expires."""

    @staticmethod
    def create_id(follow_up_id: str, **_: Any) -> UUID:
        return UUID(follow_up_id)

    @event("MlaExpected")
    def __init__(self, follow_up_id: str, case_id: str, order_id: str, direction: str, due_by: str):
        self.follow_up_id = follow_up_id
        self.case_id = case_id
        self.order_id = order_id
        self.direction = direction
        self.due_by = due_by
        self.status = "expected"


MLA_TRANSITIONS = {
    "sent": {"received", "executing", "produced", "refused"},
    "received": {"executing", "produced", "refused"},
    "executing": {"produced", "refused"},
    "produced": set(),
    "refused": set(),
}


class MlaRequest(Aggregate):
    """A formal MLA request, incoming or outgoing, linked to the case's preservation orders."""

    @staticmethod
    def create_id(mla_id: str, **_: Any) -> UUID:
        return UUID(mla_id)

    @event("MlaRecorded")
    def __init__(
        self,
        mla_id: str,
        case_id: str,
        direction: str,
        stage: str,
        authority: str,
        reference: str | None,
        date: str | None,
        order_ids: list[str],
        status: str,
        actor: dict[str, str],
    ):
        self.mla_id = mla_id
        self.case_id = case_id
        self.direction = direction
        self.stage = stage
        self.authority = authority
        self.reference = reference
        self.date = date
        self.order_ids = order_ids
        self.status = status
        self.history = [{"status": status, "by": actor}]

    def change_status(self, status: str, note: str, actor: dict[str, str]) -> bool:
        """Move along expected -> sent|received -> executing -> produced|refused."""
        if status == self.status:
            return False
        if status not in MLA_TRANSITIONS.get(self.status, set()):
            raise Conflict(f"MLA {self.mla_id} is {self.status}; it cannot become {status}")
        self._status_changed(
            self.mla_id, self.case_id, self.direction, status, note, self.order_ids, actor
        )
        return True

    @event("MlaStatusChanged")
    def _status_changed(
        self,
        mla_id: str,
        case_id: str,
        direction: str,
        status: str,
        note: str,
        order_ids: list[str],
        actor: dict[str, str],
    ) -> None:
        self.status = status
        self.history.append({"status": status, "note": note, "by": actor})
