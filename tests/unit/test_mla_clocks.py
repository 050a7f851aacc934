"""MLA follow-up clocks with a controllable clock: reminders at each offset, overdue,
extension suggested, and nothing twice after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from events import Message, registry
from services.mla.app import MlaApplication

ISSUED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
EXPIRES = ISSUED + timedelta(days=90)
ORDER = "2f0f7d0c-6d41-4a6b-9a52-7f5b7a1d2c11"
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
ACTOR = {"username": "pat", "role": "prosecution"}
_ids = count(1)


def z(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def order_issued() -> Message:
    wire = registry.encode(
        source="preservation",
        notification_id=next(_ids),
        event="OrderIssued",
        originator_id=ORDER,
        originator_version=2,
        recorded_at=z(ISSUED),
        payload={
            "order_id": ORDER, "case_id": "case-1", "request_id": None, "provider_id": "telco-a",
            "identifiers": [], "data_types": ["traffic"], "legal_basis": "Art 29",
            "direction": "incoming", "mla_intended": True, "issued_at": z(ISSUED),
            "expires_at": z(EXPIRES), "actor": ACTOR,
        },
    )  # fmt: skip
    return registry.decode(wire)


def events_of(app: MlaApplication, name: str) -> list[dict]:
    return [m["payload"] for m in app.outbox(1, 1000) if m.get("event") == name]


def mla_app() -> MlaApplication:
    app = MlaApplication(env=POPO)
    app.process(order_issued())
    return app


def test_a_reminder_at_each_offset_then_overdue():
    app = mla_app()
    assert app.run_clocks(EXPIRES - timedelta(days=22)) == 0
    for days_before in (21, 7, 2):
        app.run_clocks(EXPIRES - timedelta(days=days_before, hours=-1))
        assert app.run_clocks(EXPIRES - timedelta(days=days_before, hours=-2)) == 0  # once
    reminders = events_of(app, "MlaReminderDue")
    assert [r["offset_days"] for r in reminders] == [21, 7, 2]
    assert reminders[0]["days_left"] == 20
    assert events_of(app, "FollowUpOverdue") == []
    app.run_clocks(EXPIRES + timedelta(minutes=1))
    assert len(events_of(app, "FollowUpOverdue")) == 1
    app.run_clocks(EXPIRES + timedelta(days=1))
    assert len(events_of(app, "FollowUpOverdue")) == 1


def test_a_late_first_run_sends_one_reminder_not_three():
    app = mla_app()
    app.run_clocks(EXPIRES - timedelta(days=1))
    reminders = events_of(app, "MlaReminderDue")
    assert len(reminders) == 1 and reminders[0]["covers"] == [21, 7, 2]


def test_mla_received_stops_reminders_and_suggests_extension_near_expiry():
    app = mla_app()
    app.record_mla("case-1", {"direction": "incoming", "stage": "trial"}, ACTOR)
    app.run_clocks(EXPIRES - timedelta(days=10))
    assert events_of(app, "MlaReminderDue") == []
    app.run_clocks(EXPIRES - timedelta(days=1))
    suggested = events_of(app, "ExtensionSuggested")
    assert len(suggested) == 1 and suggested[0]["order_id"] == ORDER
    app.run_clocks(EXPIRES + timedelta(days=1))
    assert events_of(app, "FollowUpOverdue") == []  # MLA under way is not overdue


def test_routing_by_stage_uses_the_national_policy():
    app = mla_app()
    pre_trial = app.record_mla("case-1", {"direction": "outgoing", "stage": "pre_trial"}, ACTOR)
    trial = app.record_mla("case-1", {"direction": "outgoing", "stage": "trial"}, ACTOR)
    assert pre_trial["authority"] == "Prosecutor General's Office"
    assert trial["authority"] == "Ministry of Justice"
    assert pre_trial["status"] == "sent" and pre_trial["order_ids"] == [ORDER]


def test_restart_in_the_middle_of_a_run_repeats_nothing(tmp_path):
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(tmp_path / "mla.sqlite"),
    }
    first = MlaApplication(env=env)
    first.process(order_issued())
    first.run_clocks(EXPIRES - timedelta(days=7))
    first.close()
    again = MlaApplication(env=env)  # a restarted process, same store
    again.run_clocks(EXPIRES - timedelta(days=7))
    again.run_clocks(EXPIRES - timedelta(days=6))
    assert len(events_of(again, "MlaReminderDue")) == 1
