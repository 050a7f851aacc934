"""The duty roster: who is on duty, the escalation chain, validation, acknowledgement links."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cp247.config import ConfigurationError
from services.notification.roster import (
    DAYS,
    ENV_VAR,
    Person,
    Roster,
    ack_token,
    check_ack_token,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "infra" / "roster.example.yaml"
SECRET = b"0123456789abcdef0123456789abcdef"


def _person(name: str) -> dict[str, Any]:
    return {
        "name": name.capitalize(),
        "email": f"{name}@police.example",
        "phone": "+40 721 000 100",
        "languages": ["ro", "en"],
    }


# Europe/Bucharest: EET (UTC+2) in winter, EEST (UTC+3) from 29 March to 25 October 2026.
BASE: dict[str, Any] = {
    "police": {
        "time_zone": "Europe/Bucharest",
        "people": {name: _person(name) for name in ("day", "night", "spare", "other", "chief")},
        "shifts": [
            {"days": list(DAYS), "start": "06:00", "end": "22:00", "person": "day"},
            {"days": list(DAYS), "start": "22:00", "end": "06:00", "person": "night"},
        ],
        "overrides": [
            {
                "start": "2026-04-14T20:00:00+03:00",
                "end": "2026-04-15T06:00:00+03:00",
                "person": "spare",
            }
        ],
        # The on-duty people, a duplicate and the head are listed on purpose.
        "backup": ["night", "spare", "day", "spare", "chief", "other"],
        "head_of_unit": "chief",
    },
    "prosecution": {
        "time_zone": "UTC",
        "people": {"pros": _person("pros"), "boss": _person("boss")},
        "shifts": [
            # Weekdays 09:00-17:00 only; the rest of the week is a gap.
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00",
             "person": "pros"},
        ],
        "head_of_unit": "boss",
        "escalate_after_minutes": 45,
    },
}  # fmt: skip


def data() -> dict[str, Any]:
    return copy.deepcopy(BASE)


@pytest.fixture
def roster() -> Roster:
    return Roster.from_mapping(data())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def problems_of(mapping: dict[str, Any]) -> str:
    with pytest.raises(ConfigurationError) as caught:
        Roster.from_mapping(mapping, source="test roster")
    return str(caught.value)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-04-13T09:00:00", "day"),  # Monday 12:00 EEST
        ("2026-04-13T18:59:00", "day"),  # 21:59 local, last minute of the day shift
        ("2026-04-13T19:00:00", "night"),  # 22:00 local
        ("2026-04-13T21:30:00", "night"),  # 00:30 Tuesday local: across midnight
        ("2026-04-19T21:30:00", "night"),  # 00:30 Monday local: across the end of the week
        ("2026-04-14T02:59:00", "night"),  # 05:59 local
        ("2026-04-14T03:00:00", "day"),  # 06:00 local
        ("2026-01-12T03:30:00", "night"),  # winter: 05:30 EET (a fixed +03:00 would say day)
        ("2026-01-12T04:30:00", "day"),  # 06:30 EET
        ("2026-01-12T03:59:00", "night"),  # 05:59 EET
    ],
)
def test_on_duty_follows_the_local_wall_clock(roster: Roster, at: str, expected: str) -> None:
    person = roster.on_duty("police", utc(at))
    assert person is not None and person.id == expected


def test_on_duty_accepts_any_offset_for_the_same_instant(roster: Roster) -> None:
    new_york = timezone(timedelta(hours=-4))
    # 2026-04-13 14:30 in New York is 21:30 in Bucharest.
    assert roster.on_duty("police", datetime(2026, 4, 13, 14, 30, tzinfo=new_york)).id == "day"
    assert roster.on_duty("police", datetime(2026, 4, 13, 15, 30, tzinfo=new_york)).id == "night"


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # Spring forward, Sunday 29 March 2026: 03:00 EET becomes 04:00 EEST at 01:00 UTC.
        ("2026-03-29T00:30:00", "night"),  # 02:30 EET
        ("2026-03-29T01:30:00", "night"),  # 04:30 EEST
        ("2026-03-29T02:59:00", "night"),  # 05:59 EEST
        ("2026-03-29T03:00:00", "day"),  # 06:00 EEST: the night was an hour shorter
        ("2026-03-22T03:30:00", "night"),  # the Sunday before: 05:30 EET
        # Fall back, Sunday 25 October 2026: 04:00 EEST becomes 03:00 EET at 01:00 UTC.
        ("2026-10-25T00:30:00", "night"),  # 03:30 EEST, the first time
        ("2026-10-25T01:30:00", "night"),  # 03:30 EET, the second time
        ("2026-10-25T03:30:00", "night"),  # 05:30 EET: the night is an hour longer
        ("2026-10-25T04:00:00", "day"),  # 06:00 EET
        ("2026-10-18T03:30:00", "day"),  # the Sunday before: 06:30 EEST
        ("2026-10-24T19:00:00", "night"),  # 22:00 EEST Saturday, the night shift starts
    ],
)
def test_on_duty_on_dst_change_days(roster: Roster, at: str, expected: str) -> None:
    person = roster.on_duty("police", utc(at))
    assert person is not None and person.id == expected


def test_on_duty_refuses_a_naive_datetime(roster: Roster) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        roster.on_duty("police", datetime(2026, 4, 13, 12, 0))


def test_unknown_contact_point_is_refused(roster: Roster) -> None:
    with pytest.raises(ValueError, match="unknown contact point 'customs'"):
        roster.on_duty("customs", utc("2026-04-13T12:00:00"))


def test_override_wins_over_the_shift_for_its_period_only(roster: Roster) -> None:
    # The override runs 2026-04-14 20:00 to 2026-04-15 06:00 EEST (17:00 to 03:00 UTC).
    assert roster.on_duty("police", utc("2026-04-14T16:59:00")).id == "day"
    assert roster.on_duty("police", utc("2026-04-14T17:00:00")).id == "spare"  # in a day shift
    assert roster.on_duty("police", utc("2026-04-14T23:00:00")).id == "spare"  # in a night shift
    assert roster.on_duty("police", utc("2026-04-15T02:59:00")).id == "spare"
    assert roster.on_duty("police", utc("2026-04-15T03:00:00")).id == "day"  # end is exclusive


def test_gap_returns_nobody_on_duty(roster: Roster) -> None:
    assert roster.on_duty("prosecution", utc("2026-04-13T08:59:00")) is None
    assert roster.on_duty("prosecution", utc("2026-04-13T09:00:00")).id == "pros"
    assert roster.on_duty("prosecution", utc("2026-04-18T12:00:00")) is None  # Saturday


def test_escalation_chain_order_without_duplicates(roster: Roster) -> None:
    at = utc("2026-04-13T09:00:00")  # day shift
    chain = [p.id for p in roster.escalation_chain("police", at)]
    # backup is [night, spare, day, spare, chief, other]: the on-duty "day", the second
    # "spare" and "chief" are skipped, and the head of unit comes last.
    assert chain == ["day", "night", "spare", "other", "chief"]
    assert all(isinstance(p, Person) for p in roster.escalation_chain("police", at))


def test_escalation_chain_follows_the_override(roster: Roster) -> None:
    chain = [p.id for p in roster.escalation_chain("police", utc("2026-04-14T23:00:00"))]
    assert chain == ["spare", "night", "day", "other", "chief"]


def test_escalation_chain_in_a_gap_starts_with_the_backups(roster: Roster) -> None:
    mapping = data()
    mapping["prosecution"]["backup"] = ["pros"]
    chain = Roster.from_mapping(mapping).escalation_chain("prosecution", utc("2026-04-18T12:00"))
    assert [p.id for p in chain] == ["pros", "boss"]
    assert [p.id for p in roster.escalation_chain("prosecution", utc("2026-04-18T12:00"))] == [
        "boss"
    ]


def test_head_of_unit_on_duty_is_alerted_once() -> None:
    mapping = data()
    mapping["prosecution"]["shifts"][0]["person"] = "boss"
    mapping["prosecution"]["backup"] = ["pros", "boss"]
    chain = Roster.from_mapping(mapping).escalation_chain("prosecution", utc("2026-04-13T10:00"))
    assert [p.id for p in chain] == ["boss", "pros"]


def test_next_to_alert_walks_the_chain_then_returns_none(roster: Roster) -> None:
    at = utc("2026-04-13T09:00:00")
    alerted: list[str] = []
    while (person := roster.next_to_alert("police", at, alerted)) is not None:
        alerted.append(person.id)
        assert len(alerted) <= 10, "next_to_alert never reached the end of the chain"
    assert alerted == ["day", "night", "spare", "other", "chief"]
    assert roster.next_to_alert("police", at, ["night", "day"]).id == "spare"


def test_next_to_alert_picks_up_whoever_came_on_duty(roster: Roster) -> None:
    # Alerted at 21:50 local (day shift); at 22:05 the night officer is on duty and is next.
    assert roster.next_to_alert("police", utc("2026-04-13T18:50:00"), []).id == "day"
    assert roster.next_to_alert("police", utc("2026-04-13T19:05:00"), ["day"]).id == "night"


def test_escalate_after_default_and_configured(roster: Roster) -> None:
    assert roster.escalate_after("police") == timedelta(minutes=15)
    assert roster.escalate_after("prosecution") == timedelta(minutes=45)


def test_gaps_are_reported_as_text(roster: Roster) -> None:
    assert roster.gaps("police") == []
    # Weekday nights, and one gap from Friday 17:00 over the week end to Monday 09:00.
    assert roster.gaps("prosecution") == [
        "mon 17:00-tue 09:00 (16 h)",
        "tue 17:00-wed 09:00 (16 h)",
        "wed 17:00-thu 09:00 (16 h)",
        "thu 17:00-fri 09:00 (16 h)",
        "fri 17:00-mon 09:00 (64 h)",
    ]


def test_gaps_of_an_empty_schedule_and_a_short_gap() -> None:
    mapping = data()
    mapping["prosecution"]["shifts"] = []
    mapping["police"]["shifts"][0]["end"] = "21:30"
    roster = Roster.from_mapping(mapping)
    assert roster.gaps("prosecution") == ["mon 00:00-sun 24:00 (168 h)"]
    assert roster.gaps("police")[0] == "mon 21:30-22:00 (30 min)"
    assert len(roster.gaps("police")) == 7


def test_validation_names_every_problem() -> None:
    mapping = data()
    police = mapping["police"]
    police["time_zone"] = "Europe/Atlantis"
    police["shifts"][0]["person"] = "ghost"
    police["shifts"][1]["start"] = "25:00"
    police["shifts"].append({"days": ["mon"], "start": 1320, "end": "23:00", "person": "day"})
    police["shifts"].append(
        {"days": ["tue", "tue"], "start": "01:00", "end": "02:00", "person": "x"}
    )
    police["shifts"].append({"days": ["funday"], "start": "01:00", "end": "02:00", "person": "day"})
    police["overrides"].append({"start": "2026-05-01T08:00:00", "end": "x", "person": "nobody"})
    police["backup"] = ["spare", "phantom", ["nested"]]
    police["head_of_unit"] = "mystery"
    police["people"]["day"]["phone"] = 40721000100
    police["people"]["night"]["email"] = "not-an-address"
    police["people"]["spare"]["languages"] = [False, "en"]
    police["escalate_after_minutes"] = 0
    police["colour"] = "blue"
    del mapping["prosecution"]["head_of_unit"]
    mapping["customs"] = {}
    message = problems_of(mapping)
    for expected in (
        "test roster: ",
        "unknown contact point 'customs'",
        "police: unknown setting 'colour'",
        "police.time_zone 'Europe/Atlantis' is not an IANA time zone",
        "police.shifts[0]: unknown person 'ghost'",
        "police.shifts[1].start '25:00' is not a time HH:MM",
        "police.shifts[2].start is the number 1320, which is how YAML reads an unquoted 22:00; "
        'write it in quotes: "22:00"',
        "police.shifts[3].days names a day twice",
        "police.shifts[3]: unknown person 'x'",
        "police.shifts[4].days must be a list of mon",
        "police.overrides[1].start 2026-05-01T08:00:00 has no UTC offset",
        "police.overrides[1].end 'x' is not an ISO date-time",
        "police.overrides[1]: unknown person 'nobody'",
        "police.backup[1]: unknown person 'phantom'",
        "police.backup[2]: unknown person ['nested']",
        "police.head_of_unit: unknown person 'mystery'",
        "police.people.day.phone 40721000100 is not an E.164 number",
        "quote it",
        "police.people.night.email 'not-an-address' is not an e-mail address",
        "police.people.spare.languages must list ISO 639-1 codes",
        "police.escalate_after_minutes must be a whole number from 1 to 1440",
        "prosecution.head_of_unit is missing",
    ):
        assert expected in message, f"{expected!r} not in {message}"
    # A person with a bad field is still a declared person: no "unknown person 'day'" noise.
    assert "unknown person 'day'" not in message
    # A shift that is itself invalid is not also reported as overlapping.
    assert "shifts[3] and" not in message and "and police.shifts[3]" not in message


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a nested mapping/list, the node itself included."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


ODD_VALUES = [None, True, 0, -1, "", "x", [], {}, [["nested"]], {"a": {"b": 1}}, 1.5]


def test_any_malformed_value_is_a_configuration_error_not_a_crash() -> None:
    for path in _paths(BASE)[1:]:
        for odd in ODD_VALUES:
            mapping = data()
            parent = mapping
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = odd
            try:
                Roster.from_mapping(mapping)
            except ConfigurationError:
                pass
            except Exception as exc:  # the point: nothing else escapes
                pytest.fail(f"{path} = {odd!r} raised {exc!r}")


def test_overlapping_shifts_are_named_with_when() -> None:
    mapping = data()
    # The Sunday night shift runs to Monday 06:00; this one starts at 05:00 on Monday.
    mapping["police"]["shifts"].append(
        {"days": ["mon"], "start": "05:00", "end": "07:00", "person": "spare"}
    )
    message = problems_of(mapping)
    assert "police.shifts[0] (" in message and "police.shifts[2] (" in message
    assert "police.shifts[1] (mon,tue,wed,thu,fri,sat,sun 22:00-06:00 night)" in message
    assert "and police.shifts[2] (mon 05:00-07:00 spare) overlap: mon 05:00-06:00 (1 h)" in message
    assert "overlap: mon 06:00-07:00 (1 h)" in message  # with the day shift


def test_overlap_through_the_end_of_the_week_is_one_period() -> None:
    mapping = data()
    mapping["prosecution"]["shifts"] = [
        {"days": ["sun"], "start": "20:00", "end": "02:00", "person": "pros"},
        {"days": ["sun"], "start": "23:00", "end": "04:00", "person": "boss"},
        # Overlaps only the part of the second shift that the first does not.
        {"days": ["mon"], "start": "03:00", "end": "05:00", "person": "pros"},
    ]
    message = problems_of(mapping)
    assert (
        "shifts[0] (sun 20:00-02:00 pros) and prosecution.shifts[1] (sun 23:00-04:00 boss) "
        "overlap: sun 23:00-mon 02:00 (3 h)"
    ) in message
    assert (
        "shifts[1] (sun 23:00-04:00 boss) and prosecution.shifts[2] (mon 03:00-05:00 pros) "
        "overlap: mon 03:00-04:00 (1 h)"
    ) in message
    assert "shifts[0] (sun 20:00-02:00 pros) and prosecution.shifts[2]" not in message


def test_overlapping_overrides_and_backwards_periods_are_refused() -> None:
    mapping = data()
    mapping["police"]["overrides"] += [
        {"start": "2026-04-15T05:00:00+03:00", "end": "2026-04-15T07:00:00+03:00", "person": "day"},
        {"start": "2026-06-02T10:00:00Z", "end": "2026-06-01T10:00:00Z", "person": "day"},
    ]
    message = problems_of(mapping)
    assert "police.overrides[0] and police.overrides[1] overlap" in message
    assert "police.overrides[2].end must be after its start" in message


def test_a_roster_must_be_a_mapping_of_both_contact_points() -> None:
    assert "must be a mapping with police and prosecution" in problems_of([])  # type: ignore[arg-type]
    assert "prosecution is missing" in problems_of({"police": BASE["police"]})


def test_yaml_datetimes_and_24_00_are_understood(tmp_path: Path) -> None:
    # Unquoted, YAML makes the override times datetime objects; "24:00" ends at midnight.
    path = tmp_path / "roster.yaml"
    path.write_text(
        EXAMPLE.read_text(encoding="utf-8")
        .replace('"2026-04-14T20:00:00+03:00"', "2026-04-14T20:00:00+03:00")
        .replace('start: "08:00", end: "20:00", person: dumitru', 'start: "08:00", end: "24:00", '
                 "person: dumitru")
        .replace('days: [thu, fri, sat, sun], start: "20:00"', 'days: [thu, fri], start: "20:00"'),
        encoding="utf-8",
    )  # fmt: skip
    roster = Roster.load(str(path))
    assert roster.on_duty("police", utc("2026-04-14T17:00:00")).id == "dobre"
    assert roster.on_duty("police", utc("2026-04-18T20:59:00")).id == "dumitru"  # 23:59 Sat
    assert roster.gaps("police") == ["mon 00:00-08:00 (8 h)", "sun 00:00-08:00 (8 h)"]


def test_example_roster_loads_with_full_coverage() -> None:
    roster = Roster.load(str(EXAMPLE))
    assert not roster.is_default
    assert roster.gaps("police") == []
    assert roster.gaps("prosecution") == []
    # The night shift crosses midnight: Tuesday 02:00 in Bucharest (23:00 UTC Monday).
    assert roster.on_duty("police", utc("2026-04-20T23:00:00")).id == "stan"
    # The sick-leave override replaces her on the night of 14 April.
    assert roster.on_duty("police", utc("2026-04-14T23:00:00")).id == "dobre"
    chain = roster.escalation_chain("police", utc("2026-04-20T23:00:00"))
    assert [p.id for p in chain] == ["stan", "dobre", "ionescu", "popa", "head"]
    assert chain[0].phone == "+40721000104"
    assert roster.escalate_after("prosecution") == timedelta(minutes=30)


def test_load_reads_the_environment_then_falls_back_to_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    default = Roster.load(None)
    assert default.is_default
    assert default.gaps("police") == [] and default.gaps("prosecution") == []
    assert default.on_duty("prosecution", utc("2026-04-18T03:00:00")).email == (
        "prosecution.duty@cp247.example"
    )
    monkeypatch.setenv(ENV_VAR, str(EXAMPLE))
    assert Roster.load(None).on_duty("police", utc("2026-04-20T23:00:00")).id == "stan"
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigurationError, match="CP247_ROSTER=.*missing.yaml"):
        Roster.load(None)
    broken = tmp_path / "broken.yaml"
    broken.write_text("police: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        Roster.load(str(broken))


def test_ack_token_round_trips() -> None:
    token = ack_token("7f0c3f8e-alert", "ionescu", SECRET)
    assert check_ack_token(token, SECRET) == ("7f0c3f8e-alert", "ionescu")
    assert all(c.isalnum() or c in "-_." for c in token)  # fits in a URL as it is
    odd = ack_token('a.b|c"d', "ö-ü/é", SECRET)
    assert check_ack_token(odd, SECRET) == ('a.b|c"d', "ö-ü/é")


def test_ack_token_rejects_a_wrong_secret() -> None:
    token = ack_token("alert-1", "ionescu", SECRET)
    assert check_ack_token(token, b"another secret of 32 bytes......") is None
    assert check_ack_token(token, b"") is None


def test_ack_token_is_bound_to_its_purpose() -> None:
    # An HMAC of the same payload made for another purpose with the same secret (say a webhook
    # signature) must not pass as an acknowledgement.
    payload = json.dumps(["alert-1", "ionescu"], separators=(",", ":")).encode()
    mac = hmac.new(SECRET, payload, hashlib.sha256).digest()
    token = f"{_b64(payload)}.{_b64(mac)}"
    assert token.split(".")[0] == ack_token("alert-1", "ionescu", SECRET).split(".")[0]
    assert check_ack_token(token, SECRET) is None


def test_ack_token_rejects_tampering() -> None:
    token = ack_token("alert-1", "ionescu", SECRET)
    payload, mac = token.split(".")
    # Another person claiming the acknowledgement with the original MAC.
    forged = _b64(json.dumps(["alert-1", "popa"], separators=(",", ":")).encode())
    assert check_ack_token(f"{forged}.{mac}", SECRET) is None
    assert check_ack_token(f"{payload}.{mac[:-1]}", SECRET) is None
    assert check_ack_token(f"{payload}.{mac}=", SECRET) is None
    # Every single-character change, including those base64 would decode to the same bytes.
    for index, char in enumerate(token):
        for replacement in {"A", "B", "-", "_", "."} - {char}:
            changed = token[:index] + replacement + token[index + 1 :]
            assert check_ack_token(changed, SECRET) is None, changed


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "..", "abc", "abc.def", "%%%.%%%", "é.é", "a" * 5000, None, 42, b"abc.def",
     base64.urlsafe_b64encode(b"[1, 2]").decode() + ".x",
     base64.urlsafe_b64encode(b"[" * 600).decode() + ".x",
     base64.urlsafe_b64encode(b'{"a": 1}').decode() + ".x"],
)  # fmt: skip
def test_check_ack_token_returns_none_on_garbage(garbage: Any) -> None:
    assert check_ack_token(garbage, SECRET) is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_check_ack_token_never_raises(text: str) -> None:
    assert check_ack_token(text, SECRET) is None


def test_ack_token_refuses_a_short_secret_or_empty_ids() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        ack_token("alert-1", "ionescu", b"short")
    with pytest.raises(ValueError, match="non-empty"):
        ack_token("", "ionescu", SECRET)
