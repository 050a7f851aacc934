"""The read figures' two decisions at the read: outside duty hours (from the duty roster) and
which case was read; and their sums per user and month, with "part" asked at query time."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from eventsourcing.application import Application

from cp247.config import ConfigurationError
from services.gateway.read_figures import counted, figures, outside_duty
from services.notification.roster import Roster

PERSON = {"name": "X", "email": "x@police.example", "phone": "+40721000100", "languages": ["en"]}
ROSTER = {
    "police": {
        "time_zone": "UTC",
        "people": {"day": {**PERSON, "username": "ana.day"}, "night": PERSON, "chief": PERSON},
        "shifts": [
            {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "08:00",
             "end": "20:00", "person": "day"},
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "20:00", "end": "08:00",
             "person": "night"},
        ],
        "head_of_unit": "chief",
    },
    "prosecution": {
        "time_zone": "UTC",
        "people": {"pros": PERSON},
        "shifts": [{"days": ["mon"], "start": "09:00", "end": "17:00", "person": "pros"}],
        "head_of_unit": "pros",
    },
}  # fmt: skip
MONDAY_NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MONDAY_NIGHT = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
SATURDAY_NIGHT = datetime(2026, 12, 12, 23, 0, tzinfo=UTC)  # a gap: nobody on duty


@pytest.fixture
def roster() -> Roster:
    return Roster.from_mapping(copy.deepcopy(ROSTER))


def test_read_outside_duty_hours_follows_the_roster_by_cp247_username(roster: Roster) -> None:
    assert outside_duty(roster, "police", "ana.day", MONDAY_NOON) is False
    assert outside_duty(roster, "police", "ana.day", MONDAY_NIGHT) is True
    assert outside_duty(roster, "police", "night", MONDAY_NIGHT) is False  # the id by default
    assert outside_duty(roster, "police", "night", SATURDAY_NIGHT) is True  # in a gap
    assert outside_duty(roster, "police", "chief", MONDAY_NOON) is True  # listed, no shift
    assert outside_duty(roster, "police", "day", MONDAY_NOON) is None  # logs in as ana.day
    assert outside_duty(roster, "prosecution", "ana.day", MONDAY_NOON) is None  # not theirs
    assert outside_duty(roster, "oversight", "ana.day", MONDAY_NOON) is None
    assert outside_duty(roster, "isp", "telco-a", MONDAY_NOON) is None


def test_roster_username_must_be_a_cp247_username() -> None:
    bad = copy.deepcopy(ROSTER)
    bad["police"]["people"]["day"]["username"] = "ana day\n"
    with pytest.raises(ConfigurationError, match="police.people.day.username"):
        Roster.from_mapping(bad)


def test_art15_2_read_figures_sum_per_user_and_month_and_ask_part_when_asked(
    roster: Roster,
) -> None:
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})

    def read(username: str, role: str, at: datetime, case_id: str | None) -> None:
        outside = outside_duty(roster, role, username, at)
        app.save(*counted(app.repository, username, role, at, outside, case_id))

    read("ana.day", "police", MONDAY_NOON, "case-1")
    read("ana.day", "police", MONDAY_NIGHT, "case-1")
    read("ana.day", "police", MONDAY_NIGHT, "case-2")
    read("ana.day", "police", MONDAY_NIGHT, None)  # a list
    read("ana.day", "police", datetime(2027, 1, 4, 23, 0, tzinfo=UTC), "case-2")
    read("telco-a", "isp", MONDAY_NOON, "case-1")  # a provider reads its own orders
    asked: list[list[str]] = []

    def participants(case_ids: list[str]) -> dict[str, list[str]]:
        asked.append(case_ids)
        return {"case-1": ["ana.day", "pat"], "case-2": ["pat"]}  # case-3: unknown (erased)

    report = figures(app.repository, ["2026-12", "2027-01"], participants)
    assert asked == [["case-1", "case-2"]]  # once, whatever the number of users
    assert report["users"] == [
        {"month": "2026-12", "username": "ana.day", "role": "police", "reads": 4,
         "cases_read": 2, "outside_duty_hours": 3, "of_cases_without_part": 1},
        {"month": "2026-12", "username": "telco-a", "role": "isp", "reads": 1,
         "cases_read": 0, "outside_duty_hours": None, "of_cases_without_part": None},
        {"month": "2027-01", "username": "ana.day", "role": "police", "reads": 1,
         "cases_read": 1, "outside_duty_hours": 1, "of_cases_without_part": 1},
    ]  # fmt: skip
    assert report["totals"] == {"reads": 6, "outside_duty_hours": 4, "of_cases_without_part": 2}
    assert figures(app.repository, ["2026-11"], participants)["users"] == []
    read("pat", "prosecution", MONDAY_NOON, "case-3")
    december = figures(app.repository, ["2026-12"], participants)["users"]
    assert [row["of_cases_without_part"] for row in december if row["username"] == "pat"] == [0]
