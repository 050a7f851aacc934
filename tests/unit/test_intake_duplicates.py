"""No duplicates, ever: the event store refuses a second creation of the same request."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from slice_driver import preservation_request

from cp247.errors import Invalid, NotFound
from services.intake.app import IntakeApplication

POLICE = {"username": "poe", "role": "police"}
PROSECUTOR = {"username": "pat", "role": "prosecution"}


def sqlite_intake(tmp_path: Path) -> IntakeApplication:
    return IntakeApplication(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(tmp_path / "intake.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    )


def test_duplicate_from_prosecution_cp_joins_police_case(tmp_path):
    intake = sqlite_intake(tmp_path)
    first = intake.register_request(preservation_request("US-1"), POLICE)
    again = intake.register_request(preservation_request("US-1"), PROSECUTOR)
    assert first["created"] and not again["created"]
    assert again["duplicate_of"] == first["request_id"]
    assert again["case_id"] == first["case_id"]
    assert len(intake.list_cases()) == 1
    case = intake.get_case(first["case_id"])
    assert case["requests"][0]["duplicates"] == [{"received_via": "email", "actor": PROSECUTOR}]


def test_simultaneous_submissions_make_one_case(tmp_path):
    intake = sqlite_intake(tmp_path)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda n: intake.register_request(
                    preservation_request("US-RACE"), POLICE if n % 2 else PROSECUTOR
                ),
                range(8),
            )
        )
    assert sum(r["created"] for r in results) == 1
    assert len({r["case_id"] for r in results}) == 1
    assert len(intake.list_cases()) == 1


def test_other_reference_or_country_about_other_data_is_another_case(tmp_path):
    intake = sqlite_intake(tmp_path)
    a = intake.register_request(preservation_request("US-1"), POLICE)
    b = intake.register_request(preservation_request("US-2"), POLICE)
    other_country = preservation_request("US-1")
    other_country["requesting_authority"]["country"] = "CA"
    other_country["data"]["identifiers"][0]["value"] = "2001:db8::ca"
    c = intake.register_request(other_country, POLICE)
    assert len({a["case_id"], b["case_id"], c["case_id"]}) == 3


def test_invalid_request_records_nothing(tmp_path):
    intake = sqlite_intake(tmp_path)
    with pytest.raises(Invalid) as raised:
        intake.register_request(preservation_request("US-3", necessity=""), POLICE)
    assert raised.value.extra["missing"] == ["29.2.e"]
    assert intake.outbox_head() == 0


def test_unknown_case_is_not_found(tmp_path):
    intake = sqlite_intake(tmp_path)
    with pytest.raises(NotFound):
        intake.get_case("not-a-uuid")
    registered = intake.register_request(preservation_request("US-4"), POLICE)
    with pytest.raises(NotFound):  # a request id is not a case id
        intake.get_case(registered["request_id"])


def test_art29_2_every_problem_of_a_request_is_named_at_once() -> None:
    """A malformed field (a lower-case country) does not hide the missing Art 29(2) items."""
    from cp247.errors import Invalid
    from services.intake.app import IntakeApplication

    app = IntakeApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    body = preservation_request("WHACK-1")
    body["requesting_authority"]["country"] = "de"
    del body["offence"]
    with pytest.raises(Invalid) as raised:
        app.register_request(body, {"username": "poe", "role": "police"})
    fields = raised.value.body()["fields"]
    assert "requesting_authority.country" in fields
    assert {"offence.description", "offence.summary_of_facts"} <= set(fields)
    assert raised.value.body()["missing"] == ["29.2.b"]
