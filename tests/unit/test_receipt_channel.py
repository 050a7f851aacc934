"""The receipt to the requesting CP records the channel it really takes, and the timeline says
so: without SMTP (or without an address) the receipt waits in the console inbox to be sent by
hand, and no timeline entry claims it went by e-mail.

Real notification and timeline applications on the eventsourcing library's in-memory store,
linked by an inbox as in the embedded mode; no broker and no SMTP server (nothing is delivered
here).
"""

from __future__ import annotations

from typing import Any

import pytest
from slice_driver import free_port

from cp247.runtime.inbox import Inbox
from events import registry
from services.notification.app import NotificationApplication
from services.timeline.app import TimelineApplication
from services.timeline.domain import SUMMARY_VARIANTS, summarise

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
CASE_ID = "3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
AUTHORITY = {"country": "US", "email": "cp@us.example", "reference": "US-2026-0001"}


def request_received(authority: dict[str, Any]) -> Any:
    """Intake's RequestReceived for an urgent incoming preservation request, as it arrives."""
    payload = {
        "request_id": "8d3c2c58-4a6e-4f0a-9a55-0c4f6a1c2b10", "case_id": CASE_ID,
        "direction": "incoming", "type": "preservation", "urgency": "urgent",
        "received_via": "email", "counterpart_country": "US", "requesting_authority": authority,
        "custodian": None, "identifiers": [], "data_types": [], "period_days": None,
        "mla_intended": None, "warnings": [], "completeness": 0.5, "near_duplicate_of": None,
        "acknowledge_to": None, "details": {}, "received_at": "2026-11-28T02:00:00.000000Z",
        "our_reference": "CP247-2026-8D3C2C58", "actor": {"username": "pat", "role": "prosecution"},
    }  # fmt: skip
    return registry.decode(
        registry.encode(
            source="intake",
            notification_id=1,
            event="RequestReceived",
            originator_id=payload["request_id"],
            originator_version=1,
            recorded_at="2026-11-28T02:00:00.000000Z",
            payload=payload,
        )
    )


def refuse_letters(body: Any, reason: str, consumer: str) -> None:
    raise AssertionError(f"dead letter at {consumer}: {reason}")


def run(
    monkeypatch: pytest.MonkeyPatch, smtp: bool, authority: dict[str, Any] = AUTHORITY
) -> dict[str, Any]:
    """Register one incoming request; what notification and timeline made of its receipt."""
    for key in ("CP247_SMTP_HOST", "CP247_SMTP_PORT", "CP247_SMTP_FROM"):
        monkeypatch.delenv(key, raising=False)
    if smtp:  # configured, never reached: recording the receipt sends nothing
        monkeypatch.setenv("CP247_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("CP247_SMTP_PORT", str(free_port()))
        monkeypatch.setenv("CP247_SMTP_FROM", "cp247@cp.example.ro")
    notification = NotificationApplication(env=POPO)
    assert (notification.smtp is not None) is smtp
    timeline = TimelineApplication(env=POPO)
    notification.process(request_received(authority))
    to_timeline = Inbox(timeline, "notification", notification.outbox, refuse_letters)
    for message in notification.outbox(1, 100):
        to_timeline.receive(message)
    [receipt] = [m for m in notification.outbox(1, 100) if m.get("event") == "ReceiptAcknowledged"]
    [queued] = [
        m
        for m in notification.outbox(1, 100)
        if m.get("event") == "MessageQueued" and m["payload"]["template"] == "receipt"
    ]
    entries = timeline.case_timeline(CASE_ID)["entries"]
    [entry] = [e for e in entries if e["event"] == "ReceiptAcknowledged"]
    return {"receipt": receipt["payload"], "queued": queued["payload"], "entry": entry}


def test_without_smtp_the_timeline_does_not_claim_an_email(monkeypatch) -> None:
    seen = run(monkeypatch, smtp=False)
    assert seen["receipt"]["recipient"]["email"]  # an address is known, SMTP is not there
    assert seen["receipt"]["channel"] == "inbox" == seen["queued"]["channel"]
    summary = seen["entry"]["summary"]
    assert "email" not in summary.lower() and "e-mail" not in summary.lower(), summary
    assert "acknowledged" not in summary.lower(), summary
    assert "console inbox" in summary and "by hand" in summary, summary
    assert summary.startswith("Receipt to the requesting CP queued")


def test_without_an_address_the_receipt_waits_in_the_inbox_even_with_smtp(monkeypatch) -> None:
    authority = {k: v for k, v in AUTHORITY.items() if k != "email"}
    seen = run(monkeypatch, smtp=True, authority=authority)
    assert seen["receipt"]["channel"] == "inbox" == seen["queued"]["channel"]
    assert "console inbox" in seen["entry"]["summary"]


def test_with_smtp_and_an_address_the_receipt_goes_by_email(monkeypatch) -> None:
    seen = run(monkeypatch, smtp=True)
    assert seen["receipt"]["channel"] == "email" == seen["queued"]["channel"]
    assert "(email)" in seen["entry"]["summary"]
    assert "console inbox" not in seen["entry"]["summary"]


def test_wording_recorded_before_the_fix_is_unchanged() -> None:
    """Entries already on a timeline were summarised with these words: audit verify
    recomputes them from the events, so they must not change."""
    payload = {"our_reference": "CP247-2026-0001", "subject": "refusal"}
    assert summarise("ReceiptAcknowledged", {**payload, "channel": "email"}) == (
        "Receipt acknowledged to the requesting CP (email), reference CP247-2026-0001"
    )
    assert summarise("RequesterNotified", {**payload, "channel": "email"}) == (
        "Requesting CP informed (refusal) by email"
    )
    assert summarise("RequesterNotified", {**payload, "channel": "inbox"}) == (
        "Notice to the requesting CP queued (refusal; console inbox: to be sent by hand)"
    )


def test_no_variant_summary_quotes_a_personal_field() -> None:
    """As for SUMMARIES (test_sealing.py): the words outlive the erasure of personal data."""
    import string

    from events import registry

    for (event_name, _), variants in SUMMARY_VARIANTS.items():
        for template in variants.values():
            named = {f[1].split("[")[0] for f in string.Formatter().parse(template) if f[1]}
            assert not named & registry.personal_fields(event_name), event_name
