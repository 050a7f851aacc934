"""A duty alert calls a request an emergency only when it is one (imminent risk to life or
safety, P2 Art 9); an urgent incoming request is called urgent, in the alert and in its
escalation, in every language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events import registry
from services.notification.app import NotificationApplication
from services.notification.templates import SUPPORTED_LANGUAGES, render

ROSTER = """
police:
  time_zone: UTC
  escalate_after_minutes: 10
  people:
    ana: {name: Ana, email: ana@police.example, phone: "+40700000001", languages: [LANG]}
    bob: {name: Bob, email: bob@police.example, phone: "+40700000002", languages: [LANG]}
  shifts:
    - {days: [mon, tue, wed, thu, fri, sat, sun], start: "00:00", end: "24:00", person: ana}
  head_of_unit: bob
prosecution:
  time_zone: UTC
  people:
    pat: {name: Pat, email: pat@pros.example, phone: "+40700000004", languages: [LANG]}
  shifts:
    - {days: [mon, tue, wed, thu, fri, sat, sun], start: "00:00", end: "24:00", person: pat}
  head_of_unit: pat
"""
RAISED = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
# What each language calls an emergency request, and an urgent one.
EMERGENCY = {"en": "emergency", "fr": "urgence"}
URGENT = {"en": "urgent", "fr": "urgente"}


def request_received(urgency: str, request_type: str) -> object:
    payload = {
        "request_id": "8d3c2c58-4a6e-4f0a-9a55-0c4f6a1c2b10",
        "case_id": "3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
        "direction": "incoming", "type": request_type, "urgency": urgency,
        "received_via": "phone", "counterpart_country": "US",
        "requesting_authority": {"country": "US", "email": "duty@us.example", "reference": "R1"},
        "custodian": None, "identifiers": [], "data_types": [], "period_days": None,
        "mla_intended": None, "warnings": [], "completeness": 0.5, "near_duplicate_of": None,
        "acknowledge_to": None, "details": {}, "received_at": "2026-11-28T02:00:00.000000Z",
        "our_reference": "CP247-2026-8D3C2C58", "actor": {"username": "poe", "role": "police"},
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


def alert_and_escalation(tmp_path, monkeypatch, urgency: str, request_type: str, language: str):
    """The duty alert and its escalation of one incoming request, as the app queued them."""
    roster = tmp_path / "roster.yaml"
    roster.write_text(ROSTER.replace("LANG", language))
    monkeypatch.setenv("CP247_ROSTER", str(roster))
    app = NotificationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.process(request_received(urgency, request_type))
    assert app.escalate(RAISED + timedelta(minutes=11)) == 1
    by_template = {m["template"]: m for m in app.inbox()}
    return by_template["duty_alert"], by_template["duty_escalation"]


def words(message: dict) -> str:
    return (message["subject"] + "\n" + message["body"]).lower()


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_an_urgent_request_is_not_announced_as_an_emergency(tmp_path, monkeypatch, language):
    for message in alert_and_escalation(tmp_path, monkeypatch, "urgent", "preservation", language):
        text = words(message)
        assert "emergency" not in text and EMERGENCY[language] not in text, message
        assert URGENT[language] in message["subject"].lower(), message["subject"]
        assert URGENT[language] in message["body"].lower(), message["body"]


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_an_emergency_is_still_announced_as_one(tmp_path, monkeypatch, language):
    alert, escalation = alert_and_escalation(
        tmp_path, monkeypatch, "emergency", "emergency_disclosure", language
    )
    for message in (alert, escalation):
        assert EMERGENCY[language] in message["subject"].lower(), message["subject"]
        assert EMERGENCY[language] in message["body"].lower(), message["body"]
    assert alert["subject"].startswith("URGENT")


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("name", ["duty_alert", "duty_escalation"])
def test_the_templates_word_the_urgency(name, language):
    context = {
        "our_reference": "RO-2024-0042",
        "type": "preservation",
        "counterpart_country": "DE",
        "acknowledge_url": "https://cp247.example/api/v1/alerts/ack?token=abc.def",
        "minutes": 15,
    }
    if name == "duty_alert":
        del context["minutes"]
    urgent = render(name, language, {**context, "urgency": "urgent"})
    emergency = render(name, language, {**context, "urgency": "emergency"})
    assert EMERGENCY[language] not in (urgent.subject + urgent.body).lower()
    assert URGENT[language] in urgent.subject.lower()
    assert EMERGENCY[language] in emergency.subject.lower()
    assert EMERGENCY[language] in emergency.body.lower()
