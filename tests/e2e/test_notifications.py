"""Notification with a real SMTP server on loopback: receipts and feedback to the requesting
CP, duty alerts taken by their link, retries, the dead letter, and recovery."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from embedded_runner import running_embedded
from slice_driver import PASSWORD, ROSTER, free_port, preservation_request, wait_for
from smtp_sink import Mailbox, serving

from events import registry
from services.notification.app import NotificationApplication

Inbox = Mailbox  # the requesting CP's mailbox, as these tests call it


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with serving() as (inbox, port):
        yield inbox, port


def smtp_env(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    monkeypatch.setenv("CP247_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CP247_SMTP_PORT", str(port))
    monkeypatch.setenv("CP247_SMTP_FROM", "cp247@cp.example.ro")


def test_requesting_cp_gets_receipt_and_feedback_by_email(smtp, monkeypatch, tmp_path):
    inbox, port = smtp
    smtp_env(monkeypatch, port)
    with running_embedded(tmp_path / "data") as (api, cli, platform):
        platform.apps["isp_liaison"].register_provider("telco-a", "Telco A", "RO")
        platform.apps["gateway"].add_user("pat", "prosecution", PASSWORD)
        pat = platform.apps["gateway"].issue_token(username="pat")
        isp = platform.apps["gateway"].issue_token(provider_id="telco-a")
        status, created = api.call(
            "POST", "/api/v1/requests", pat, preservation_request("MAIL-1", urgency="urgent")
        )
        assert status == 201, created
        requester = "cp247@us.example"
        wait_for(lambda: len(inbox.to(requester)) >= 2, what="receipt and order-issued mails")
        receipt = inbox.to(requester)[0]
        body = receipt.get_payload(decode=True).decode()
        assert created["acknowledgement"]["our_reference"] in body
        subject = str(make_header(decode_header(receipt["Subject"])))
        assert "receipt" in subject.lower() and "MAIL-1" in subject + body

        _, inbox_orders = api.call("GET", "/api/v1/isp/orders", isp)
        order_id = inbox_orders["orders"][0]["order_id"]
        api.call("POST", f"/api/v1/isp/orders/{order_id}/preserved", isp, {"note": "ok"})
        wait_for(lambda: len(inbox.to(requester)) >= 3, what="the data-preserved mail")

        # An urgent incoming request alerts the duty officer of the CP that registered it.
        duty = inbox.to("prosecution.duty@cp247.example")
        assert duty, inbox.subjects()
        link = re.search(r"token=(\S+)", duty[0].get_payload(decode=True).decode())
        assert link
        status, taken = api.call("POST", "/api/v1/alerts/ack", None, {"token": link.group(1)})
        assert status == 200 and taken["acknowledged"]["via"] == "link", taken
        assert api.call("POST", "/api/v1/alerts/ack", None, {"token": "forged"})[0] == 404
        _, alerts = api.call("GET", "/api/v1/alerts", pat)
        assert alerts["alerts"] == []

        def sent_on_timeline() -> bool:
            _, timeline = api.call("GET", f"/api/v1/cases/{created['case_id']}/timeline", pat)
            events = [e["event"] for e in timeline["entries"]]
            return events.count("NotificationSent") >= 3 and "DutyAlertAcknowledged" in events

        wait_for(sent_on_timeline, what="deliveries on the timeline")


def request_received(payload_overrides: dict | None = None, notification_id: int = 1) -> object:
    payload = {
        "request_id": "8d3c2c58-4a6e-4f0a-9a55-0c4f6a1c2b10",
        "case_id": "3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
        "direction": "incoming", "type": "emergency_disclosure", "urgency": "emergency",
        "received_via": "phone", "counterpart_country": "US",
        "requesting_authority": {"country": "US", "email": "duty@us.example", "reference": "R1"},
        "custodian": None, "identifiers": [], "data_types": [], "period_days": None,
        "mla_intended": None, "warnings": [], "completeness": 0.5, "near_duplicate_of": None,
        "acknowledge_to": None, "details": {}, "received_at": "2026-11-28T02:00:00.000000Z",
        "our_reference": "CP247-2026-8D3C2C58", "actor": {"username": "poe", "role": "police"},
        **(payload_overrides or {}),
    }  # fmt: skip
    return registry.decode(
        registry.encode(
            source="intake",
            notification_id=notification_id,
            event="RequestReceived",
            originator_id=payload["request_id"],
            originator_version=1,
            recorded_at="2026-11-28T02:00:00.000000Z",
            payload=payload,
        )  # fmt: skip
    )


def test_unacknowledged_alert_escalates_along_the_roster(tmp_path, monkeypatch):
    from datetime import UTC, datetime, timedelta

    (tmp_path / "roster.yaml").write_text(ROSTER)
    monkeypatch.setenv("CP247_ROSTER", str(tmp_path / "roster.yaml"))
    app = NotificationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.process(request_received())
    raised = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    assert app.open_alerts()[0]["alerted"] == ["ana"]
    assert app.escalate(raised + timedelta(minutes=9)) == 0
    assert app.escalate(raised + timedelta(minutes=11)) == 1
    assert app.open_alerts()[0]["alerted"] == ["ana", "bob"]
    assert app.escalate(raised + timedelta(minutes=22)) == 1
    assert app.escalate(raised + timedelta(minutes=60)) == 0  # the head was the last
    alert = app.open_alerts()[0]
    assert alert["alerted"] == ["ana", "bob", "hea"] and alert["status"] == "escalated"
    subjects = [m["template"] for m in app.inbox()]
    assert subjects.count("duty_escalation") == 2 and subjects.count("duty_alert") == 1
    app.acknowledge_alert(alert["alert_id"], "hea")
    assert app.open_alerts() == []
    messages = len(app.inbox())
    app.process(request_received())  # a redelivered event: nothing new
    assert len(app.inbox()) == messages


def test_smtp_down_retries_then_dead_letters_then_recovers(monkeypatch):
    port = free_port()  # nothing listens here yet
    smtp_env(monkeypatch, port)
    app = NotificationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.process(request_received({"urgency": "routine", "type": "preservation"}))
    now = time.time()
    assert app.deliver_messages(now) == 1
    [receipt] = app.inbox(("requesting_cp",))
    assert receipt["state"] == "pending"
    failures = [m for m in app.outbox(1, 100) if m.get("event") == "MessageAttemptFailed"]
    assert len(failures) == 1 and failures[0]["payload"]["error"]
    assert app.deliver_messages(now + 1) == 0  # backing off

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert app.deliver_messages(now + 3600) == 1
        assert len(inbox.messages) == 1  # recovered, and sent once
        assert [m.get("event") for m in app.outbox(1, 100)].count("NotificationSent") == 1
        # A second cause, and a server that refuses for good: the dead letter.
        inbox.refuse_with = "550 mailbox unavailable"
        app.process(
            request_received(
                {
                    "request_id": "9d3c2c58-4a6e-4f0a-9a55-0c4f6a1c2b10",
                    "urgency": "routine",
                    "type": "preservation",
                },
                notification_id=2,
            )
        )
        app.deliver_messages(now + 7200)
        failed = [m for m in app.outbox(1, 100) if m.get("event") == "NotificationFailed"]
        assert len(failed) == 1 and "550" in failed[0]["payload"]["error"]
        told = [m for m in app.inbox() if m["template"] == "delivery_failed"]
        assert len(told) == 1 and told[0]["audience"] == "duty_officer"
    finally:
        controller.stop()


def test_configuration_mistakes_are_named(monkeypatch, tmp_path: Path):
    from cp247.config import ConfigurationError

    monkeypatch.setenv("CP247_SMTP_HOST", "127.0.0.1")  # no sender address
    with pytest.raises(ConfigurationError, match="CP247_SMTP_FROM"):
        NotificationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    monkeypatch.delenv("CP247_SMTP_HOST")
    (tmp_path / "roster.yaml").write_text("police: {}\n")
    monkeypatch.setenv("CP247_ROSTER", str(tmp_path / "roster.yaml"))
    with pytest.raises(ConfigurationError):
        NotificationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def test_feedback_that_arrives_before_its_request_is_sent_after_the_receipt():
    """Events of different services reach notification in any order."""
    app = NotificationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    received = request_received({"urgency": "routine", "type": "preservation"})
    payload = received.payload
    issued = registry.decode(
        registry.encode(
            source="preservation",
            notification_id=1,
            event="OrderIssued",
            originator_id="6f1c3c3e-6a3c-4a38-9b73-0b7a1f4f1e11",
            originator_version=2,
            recorded_at="2026-11-28T02:00:01.000000Z",
            payload={
                "order_id": "6f1c3c3e-6a3c-4a38-9b73-0b7a1f4f1e11",
                "case_id": payload["case_id"],
                "request_id": payload["request_id"],
                "provider_id": "telco-a",
                "identifiers": [],
                "data_types": [],
                "legal_basis": "Art 29",
                "direction": "incoming",
                "mla_intended": True,
                "issued_at": "2026-11-28T02:00:01.000000Z",
                "expires_at": "2027-02-26T02:00:01.000000Z",
                "actor": payload["actor"],
            },
        )  # fmt: skip
    )
    app.process(issued)  # before the request: kept
    assert [m["template"] for m in app.inbox(("requesting_cp",))] == []
    app.process(received)
    templates = sorted(m["template"] for m in app.inbox(("requesting_cp",)))
    assert templates == ["order_issued", "receipt"]
    app.process(issued)  # redelivered: nothing twice
    assert len(app.inbox(("requesting_cp",))) == 2


def test_duty_alert_is_also_pushed_signed_to_the_alert_webhook(monkeypatch):
    import hashlib
    import hmac
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cp247.webhooks import SIGNATURE_HEADER, verify

    received: list[tuple[bool, dict]] = []
    secret = hmac.new(bytes.fromhex("11" * 32), b"alert-webhook", hashlib.sha256).digest()

    class Pager(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = verify(secret, body, self.headers[SIGNATURE_HEADER], time.time())
            received.append((ok, json.loads(body)))
            self.send_response(200 if ok else 401)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pager)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("CP247_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/page")
        monkeypatch.setenv("CP247_OUTBOUND_ALLOWED_HOSTS", "127.0.0.1")  # the test pager
        app = NotificationApplication(
            env={"PERSISTENCE_MODULE": "eventsourcing.popo", "CP247_WEBHOOK_MASTER_KEY": "11" * 32}
        )
        app.process(request_received())
        assert app.deliver_messages(time.time()) == 1  # no SMTP here: only the push
        [(valid, body)] = received
        assert valid and body["template"] == "duty_alert"
        assert [m["template"] for m in app.inbox()].count("duty_alert") == 1  # not twice
    finally:
        server.shutdown()
    monkeypatch.setenv("CP247_ALERT_WEBHOOK", "gopher://pager")
    from cp247.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="CP247_ALERT_WEBHOOK"):
        NotificationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
