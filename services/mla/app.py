"""The MLA application: follow-ups linked to preservation orders."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import ProcessingEvent

from cp247.runtime.application import ServiceApplication
from events import Message
from services.mla.domain import MlaFollowUp, follow_up_id_for


class MlaApplication(ServiceApplication):
    name = "mla"
    upstreams = ("preservation",)
    policies = {"OrderIssued": "on_order_issued"}

    def on_order_issued(self, message: Message, processing: ProcessingEvent) -> None:
        """An issued order lapses at expiry unless formal MLA arrives (Art 29(7))."""
        order = message.payload
        if order.get("mla_intended") is False:
            return
        processing.collect_events(
            MlaFollowUp(
                follow_up_id=follow_up_id_for(order["order_id"]),
                case_id=order["case_id"],
                order_id=order["order_id"],
                direction=order["direction"],
                due_by=order["expires_at"],
            )
        )

    def follow_ups_of_case(self, case_id: str) -> list[dict[str, Any]]:
        return [
            {
                "follow_up_id": follow_up.follow_up_id,
                "order_id": follow_up.order_id,
                "direction": follow_up.direction,
                "due_by": follow_up.due_by,
                "status": follow_up.status,
            }
            for follow_up in self.created(MlaFollowUp.MlaExpected)
            if follow_up.case_id == case_id
        ]
