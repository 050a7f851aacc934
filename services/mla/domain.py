"""The MLA follow-up of a preservation order: the paper's biggest operational failure is
preservation never followed by MLA, so the expectation is recorded the moment an order runs."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

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
