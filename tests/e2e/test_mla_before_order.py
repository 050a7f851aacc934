"""An MLA request recorded before the MLA service has learnt of the case's order (events of
different services arrive in any order) still covers that order: Art 29(7) holds it."""

from __future__ import annotations

from slice_driver import wait_for

from cp247.samples import preservation_request
from events import registry
from services.mla.app import MlaApplication
from services.preservation.app import PreservationApplication

PROSECUTOR = {"username": "pat", "role": "prosecution"}


def test_an_order_issued_after_the_mla_request_is_linked_and_held(embedded, tokens):
    api, _, platform = embedded
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request("MLA-FIRST")
    )
    assert status == 201, created

    def issued():
        for body in platform.apps["preservation"].outbox(1, 1000):
            if (
                body.get("event") == "OrderIssued"
                and body["payload"]["case_id"] == created["case_id"]
            ):
                return registry.decode(body)
        return None

    order_issued = wait_for(issued, what="the order issued")
    order_id = order_issued.payload["order_id"]

    # A fresh MLA service that has not seen the order yet receives the MLA request first.
    mla_app = MlaApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    mla = mla_app.record_mla(created["case_id"], {"direction": "incoming"}, PROSECUTOR)
    assert mla["order_ids"] == []
    assert mla_app.process(order_issued)
    assert mla_app.get_mla(mla["mla_id"])["order_ids"] == [order_id]
    follow_up = mla_app.follow_ups_of_case(created["case_id"])[0]
    assert follow_up["mla"] == {mla["mla_id"]: "received"}

    # Preservation, told of the link, holds the order until the MLA request is decided.
    linked = [
        registry.decode(b) for b in mla_app.outbox(1, 100) if b.get("event") == "OrderLinkedToMla"
    ]
    assert len(linked) == 1 and linked[0].payload["order_id"] == order_id
    preservation = PreservationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    received = next(
        registry.decode(b)
        for b in platform.apps["intake"].outbox(1, 1000)
        if b.get("event") == "RequestReceived" and b["payload"]["case_id"] == created["case_id"]
    )
    assert preservation.process(received)  # the same order again: its id is deterministic
    assert preservation.get_order(order_id)["held_for_mla"] == []
    assert preservation.process(linked[0])
    assert preservation.get_order(order_id)["held_for_mla"] == [mla["mla_id"]]
