"""A case's whole life across processes: receipt by e-mail, order, provider, MLA, decision,
every party told in time."""

from __future__ import annotations

import pytest
from distributed_cluster import Cluster
from slice_driver import preservation_request, wait_for

pytestmark = pytest.mark.distributed


def test_incoming_case_from_receipt_to_mla_produced(cluster: Cluster):
    api, tokens, mailbox = cluster.api, cluster.tokens, cluster.mailbox
    body = preservation_request("US-DIST-LIFE-1", urgency="urgent")
    body["requesting_authority"]["email"] = "life@us.example"
    status, created = api.call("POST", "/api/v1/requests", tokens["prosecution"], body)
    assert status == 201, created
    case = created["case_id"]
    wait_for(lambda: mailbox.to("life@us.example"), what="the receipt e-mail")
    wait_for(lambda: mailbox.to("prosecution.duty@cp247.example"), what="the duty alert")

    def own_order() -> dict | None:
        _, inbox = api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])
        return next((o for o in inbox["orders"] if o["case_id"] == case), None)

    order = wait_for(own_order, what="the order in the inbox")
    base = f"/api/v1/isp/orders/{order['order_id']}"
    assert api.call("POST", f"{base}/acknowledge", tokens["isp_a"])[0] == 200
    assert api.call("POST", f"{base}/preserved", tokens["isp_a"], {"note": "kept"})[0] == 200
    status, mla = api.call(
        "POST", f"/api/v1/cases/{case}/mla", tokens["prosecution"],
        {"direction": "incoming", "reference": "US-MLA-LIFE", "stage": "pre_trial"},
    )  # fmt: skip
    assert status == 201, mla
    for step in ("executing", "produced"):
        status, moved = api.call(
            "POST", f"/api/v1/mla/{mla['mla_id']}/status", tokens["prosecution"],
            {"status": step, "note": step},
        )  # fmt: skip
        assert status == 200 and moved["status"] == step

    def whole_life() -> bool:
        _, timeline = api.call("GET", f"/api/v1/cases/{case}/timeline", tokens["police"])
        events = {e["event"] for e in timeline["entries"]}
        return {
            "RequestReceived", "ReceiptAcknowledged", "DutyOfficerAlerted", "OrderIssued",
            "DataPreserved", "MlaRecorded", "OrderHeldForMla", "OrderHoldLifted",
            "NotificationSent",
        } <= events  # fmt: skip

    wait_for(whole_life, timeout=40, what="the whole life on the timeline")
    # Receipt, order issued and data preserved: the requesting CP was told each time.
    try:
        wait_for(lambda: len(mailbox.to("life@us.example")) >= 3, what="feedback e-mails")
    except AssertionError:
        _, messages = api.call("GET", f"/api/v1/cases/{case}/messages", tokens["police"])
        raise AssertionError(
            [(m["template"], m["state"]) for m in messages["messages"]]
            + [m["Subject"] for m in mailbox.messages]
        ) from None
