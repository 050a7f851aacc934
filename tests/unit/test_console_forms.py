"""What the console shows and sends: clocks, times, and the request form's mapping."""

from __future__ import annotations

from datetime import UTC, datetime

from services.gateway.console.formatting import clock, overdue, status_words, when
from services.gateway.console.request_form import request_body

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def test_clock_shows_time_left_and_overdue():
    assert clock("2026-11-30T05:00:00Z", NOW) == "2 d 2 h left"
    assert clock("2026-11-28T04:05:00Z", NOW) == "1 h 05 min left"
    assert clock("2026-11-28T01:30:00Z", NOW) == "overdue by 1 h 30 min"
    assert overdue("2026-11-28T01:30:00Z", NOW) and not overdue("2026-11-28T04:00:00Z", NOW)
    assert clock(None, NOW) == "" and clock("not a time", NOW) == ""


def test_times_are_shown_in_utc_and_states_in_words():
    assert when("2026-11-27T22:14:05-05:00") == "2026-11-28 03:14 UTC"
    assert when(None) == ""
    assert status_words("awaiting_approval") == "awaiting approval"
    assert status_words("something_new") == "something new"


def test_form_fields_become_the_checklist_shaped_body():
    body, problems = request_body(
        {
            "direction": "incoming",
            "type": "preservation",
            "ra_country": "DE",
            "ra_contact_point": "BKA",
            "identifiers": "ip 192.0.2.1 51234 2026-11-27T22:14:05+01:00\n\nemail a@b.example",
            "data_types": ["traffic"],
            "provider_id": "telco-a",
            "period_days": "90",
            "mla_intended": "yes",
        }
    )
    assert problems == []
    assert body["requesting_authority"] == {"country": "DE", "contact_point": "BKA"}
    assert body["data"]["identifiers"] == [
        {"kind": "ip", "value": "192.0.2.1", "port": 51234,
         "observed_at": "2026-11-27T22:14:05+01:00"},
        {"kind": "email", "value": "a@b.example"},
    ]  # fmt: skip
    assert body["data"]["custodian"] == {"provider_id": "telco-a"}
    assert body["data"]["period_days"] == 90 and body["mla_intended"] is True
    assert "offence" not in body and "emergency" not in body  # nothing given, nothing sent


def test_what_only_the_form_can_see_is_said_in_sentences():
    _, problems = request_body({"identifiers": "192.0.2.1", "period_days": "ninety"})
    assert len(problems) == 2
    assert problems[0].startswith("Identifier line “192.0.2.1”: start with the kind")
    assert problems[1] == "Period: give a whole number of days, e.g. 90."
