"""What the console shows and sends: clocks, times, the request form's mapping and the
case page's action forms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.gateway.console.action_forms import (
    answer_body,
    art29_6_decision_body,
    close_body,
    foreign_receipt_body,
    order_body,
    reason_body,
    sent_body,
    whole_number,
)
from services.gateway.console.formatting import clock, overdue, status_words, when
from services.gateway.console.request_form import identifier_from_line, request_body

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def test_clock_shows_time_left_and_overdue():
    assert clock("2026-11-30T05:00:00Z", NOW) == "2 d 2 h left"
    assert clock("2026-11-28T04:05:00Z", NOW) == "1 h 05 min left"
    assert clock("2026-11-28T01:30:00Z", NOW) == "overdue by 1 h 30 min"
    assert overdue("2026-11-28T01:30:00Z", NOW) and not overdue("2026-11-28T04:00:00Z", NOW)
    assert clock(None, NOW) == "" and clock("not a time", NOW) == ""


def test_times_are_shown_in_utc_and_states_in_words():
    assert when("2026-11-27T22:14:05-05:00") == "2026-11-28 03:14:05 UTC"
    assert when("2026-11-28T03:14:05.123456Z") == "2026-11-28 03:14:05 UTC"  # never fractions
    assert when(None) == ""
    assert when("2026-11-28 03:14") == "2026-11-28 03:14"  # no zone: shown as written
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


def filled(**fields: str):
    """A posted form as the pages read it: a field's stripped value, "" when not sent."""
    return lambda name: fields.get(name, "").strip()


def test_an_empty_time_is_left_out_so_the_api_takes_now():
    assert sent_body(filled(channel="fax", at="")) == {"channel": "fax"}
    assert sent_body(filled(channel="email", at=" 2026-11-28T09:15+01:00 ")) == {
        "channel": "email", "at": "2026-11-28T09:15+01:00"}  # fmt: skip
    assert foreign_receipt_body(filled()) == {}
    assert foreign_receipt_body(filled(reference="NO-77", at="2026-11-28T10:00Z")) == {
        "reference": "NO-77", "at": "2026-11-28T10:00Z"}  # fmt: skip


def test_the_foreign_answer_sends_its_expiry_only_when_given():
    assert answer_body(filled(outcome="refused", note="")) == {"outcome": "refused", "note": ""}
    body = answer_body(filled(outcome="preserved", expires_at="2027-02-26T00:00Z", note="90 d"))
    assert body == {"outcome": "preserved", "expires_at": "2027-02-26T00:00Z", "note": "90 d"}


def test_decisions_send_their_reason_even_when_empty_so_the_api_can_say_it_is_missing():
    assert reason_body(filled()) == {"reason": ""}
    assert reason_body(filled(reason="suspect identified")) == {"reason": "suspect identified"}
    assert art29_6_decision_body(filled(decision="execute")) == {"decision": "execute", "note": ""}
    assert close_body(filled(outcome="charged", note="trial set")) == {
        "outcome": "charged", "note": "trial set"}  # fmt: skip


def test_an_officers_order_reads_identifier_lines_as_the_request_form_does():
    body, problems = order_body(
        filled(provider_id="telco-a", request_id="r-1", period_days="60",
               identifiers="ip 192.0.2.1 51234 2026-11-28T03:14:05Z\n\nemail a@b.example"),
        ["traffic"],
    )  # fmt: skip
    assert problems == []
    assert body == {
        "provider_id": "telco-a", "data_types": ["traffic"], "period_days": 60,
        "request_id": "r-1",
        "identifiers": [
            {"kind": "ip", "value": "192.0.2.1", "port": 51234,
             "observed_at": "2026-11-28T03:14:05Z"},
            {"kind": "email", "value": "a@b.example"},
        ],
    }  # fmt: skip
    body, problems = order_body(filled(provider_id="telco-a", identifiers="192.0.2.1"), [])
    assert "request_id" not in body and "period_days" not in body
    assert problems and problems[0].startswith("Identifier line “192.0.2.1”")


def test_a_number_the_form_cannot_read_goes_to_the_api_as_written():
    assert whole_number("14") == 14 and whole_number("two weeks") == "two weeks"


def test_the_national_local_time_stands_beside_utc_with_its_date_where_it_differs():
    assert when("2026-11-28T03:14:05Z", "Europe/Bucharest") == (
        "2026-11-28 03:14:05 UTC · 05:14:05 EET"
    )
    assert when("2026-11-28T23:30:00Z", "Europe/Bucharest") == (
        "2026-11-28 23:30:00 UTC · 2026-11-29 01:30:00 EET"
    )
    assert when("2026-07-01T12:00:00Z", "Europe/Oslo").endswith("14:00:00 CEST")  # summer time
    assert when("2026-11-28T03:14:05Z", "UTC") == "2026-11-28 03:14:05 UTC"
    assert when("2026-11-28T03:14:05Z", "Mars/Olympus") == "2026-11-28 03:14:05 UTC"


@pytest.mark.parametrize(
    ("line", "value", "port"),
    [
        ("ip 185.220.101.46:44123 2026-11-27T22:14:05Z", "185.220.101.46", 44123),
        ("ip [2001:db8::1]:443", "2001:db8::1", 443),
        ("ip [2001:db8::1]", "2001:db8::1", None),
        ("ip 192.0.2.1 51234", "192.0.2.1", 51234),
        ("ip 2001:db8::1", "2001:db8::1", None),  # a bare IPv6 address is no address:port
    ],
)
def test_an_address_is_read_with_its_port_as_logs_write_it(line, value, port):
    identifier, problem = identifier_from_line(line)
    assert problem is None and identifier["value"] == value
    assert identifier.get("port") == port


def test_the_time_a_request_arrived_is_sent_only_when_given():
    body, _ = request_body({"received_at": "2026-11-28T03:14:05+01:00"})
    assert body["received_at"] == "2026-11-28T03:14:05+01:00"
    assert "received_at" not in request_body({})[0]  # left empty: now, as the API says


def test_ages_read_as_time_ago():
    from services.gateway.console.formatting import age

    assert age("2026-11-28T02:48:00Z", NOW) == "12 min ago"
    assert age("2026-11-28T00:55:00Z", NOW) == "2 h 05 min ago"
    assert age("2026-11-25T23:00:00Z", NOW) == "2 d 4 h ago"
    assert age(None, NOW) == "" and age("2026-11-28T03:30:00Z", NOW) == "0 min ago"


def test_warnings_read_as_sentences_with_the_carrier_grade_nat_one_first():
    from services.gateway.console.formatting import warning_sentences

    said = warning_sentences(
        ["timestamp_local_only", "recommended_missing:offence.provisions", "ipv4_without_port",
         "recommended_missing:data.period_days", "something_new"]
    )  # fmt: skip
    assert said[0].startswith("A public IPv4 address without its source port")
    assert "Ask the requesting CP for the source port" in said[0]
    assert said[-1] == "Recommended but not given: offence provisions, data period days."
    assert "Something new." in said and not any("_" in s for s in said)
