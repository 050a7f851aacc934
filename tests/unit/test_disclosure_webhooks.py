"""What the provider is told of its disclosure order's clock and end (issue 20), by webhook:
the order, each reminder, the overdue notice and the withdrawal each push a notice once.
Real preservation and isp_liaison applications in process; no broker, no HTTP."""

from __future__ import annotations

import base64
import os
from datetime import timedelta
from pathlib import Path

from slice_driver import preservation_request

from cp247.clock import parse_iso
from cp247.runtime.inbox import Inbox
from services.intake.app import IntakeApplication
from services.isp_liaison.app import IspLiaisonApplication
from services.isp_liaison.domain import WebhookDelivery
from services.preservation.app import PreservationApplication

PROSECUTOR = {"username": "pat", "role": "prosecution"}


def no_letters(body, reason: str, consumer: str) -> None:
    raise AssertionError(f"dead-lettered: {reason}")


def hooks(isp: IspLiaisonApplication) -> list[str]:
    return sorted(d.hook_event for d in isp.still_open(WebhookDelivery, lambda d: True))


def test_the_provider_is_pushed_each_reminder_the_overdue_notice_and_the_withdrawal(
    tmp_path: Path,
):
    keys = {
        "CP247_CASE_KEYS_MASTER": base64.b64encode(os.urandom(32)).decode(),
        "CP247_CASE_KEYS": f"sqlite:{tmp_path / 'case-keys.sqlite'}",
    }
    preservation = PreservationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo", **keys})
    isp = IspLiaisonApplication(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.popo",
            "CP247_SIGNING_KEY": str(tmp_path / "sign.pem"),
            "CP247_WEBHOOK_MASTER_KEY": os.urandom(32).hex(),
            **keys,
        }
    )
    isp.register_provider("telco-a", "Telco A", "RO", webhook="https://telco-a.example/hook")
    inbox = Inbox(isp, "preservation", preservation.outbox, no_letters)
    intake = IntakeApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo", **keys})
    body = preservation_request("HOOK-1", type="subscriber_identification")
    request = intake.register_request(body, PROSECUTOR)
    order = preservation.create_disclosure_order(
        request["case_id"],
        {"provider_id": "telco-a", "identifiers": body["data"]["identifiers"],
         "data_types": ["subscriber"]},
        PROSECUTOR,
        [request["request_id"]],
    )  # fmt: skip
    inbox.catch_up()
    assert hooks(isp) == ["order.issued"]

    due = parse_iso(order["due_by"])
    for now in (due - timedelta(hours=47), due - timedelta(hours=3), due + timedelta(minutes=1)):
        assert preservation.run_disclosure_clocks(now=now) == [order["order_id"]]
    inbox.catch_up()
    assert hooks(isp) == ["order.due_soon", "order.due_soon", "order.issued", "order.overdue"]
    inbox.catch_up()  # applied once: nothing more
    assert len(hooks(isp)) == 4

    # The request is refused: intake's event reaches preservation, whose withdrawal reaches
    # the provider.
    intake.refuse_request(request["request_id"], ["security"], "prejudice", PROSECUTOR)
    Inbox(preservation, "intake", intake.outbox, no_letters).catch_up()
    inbox.catch_up()
    assert hooks(isp).count("order.withdrawn") == 1
    assert isp.get_order("telco-a", order["order_id"])["status"] == "withdrawn"
