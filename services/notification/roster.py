"""The duty roster of the two contact points: who is on duty, who to wake next, and the signed
links that acknowledge an alert without logging in.

A 24/7 contact point is only 24/7 if someone answers at 03:00 on a Sunday: the paper's
recurring failure is a CP that cannot be reached (seed 2.4). The roster is configuration, a YAML
file named by ``CP247_ROSTER``, validated at start-up with every problem named:

```yaml
police:                                  # and the same for prosecution
  time_zone: Europe/Bucharest            # IANA; shift times are wall-clock times in this zone
  escalate_after_minutes: 15             # optional, default 15
  people:
    ana:
      name: Insp. Ana Example
      email: ana.example@police.example
      phone: "+40 721 000 101"           # E.164; quoted, or YAML reads it as a number
      languages: [ro, en]                # ISO 639-1; quote "no" (Norwegian), YAML reads false
      username: ana.example              # optional: her cp247 login (default: the id, "ana"),
                                         # which ties her reads to her duty hours (read audit)
  shifts:                                # a weekly schedule
    - {days: [mon, tue, wed], start: "08:00", end: "20:00", person: ana}
    - {days: [mon, tue, wed], start: "20:00", end: "08:00", person: dan}   # crosses midnight
  overrides:                             # optional; a swap or sick leave, wins over shifts
    - {start: "2026-04-14T20:00:00+03:00", end: "2026-04-16T08:00:00+03:00", person: ion}
  backup: [ion, ana]                     # optional; escalate to these after the on-duty person
  head_of_unit: chief                    # always last in the escalation chain
```

Times are quoted: YAML 1.1 reads an unquoted ``22:00`` as the number 1320. A shift whose end
is at or before its start ends the next day (``22:00``-``06:00``); ``start == end`` is a 24-hour
shift and ``end: "24:00"`` is midnight. The week may have gaps (``Roster.gaps`` lists them) but
no two shifts of one CP may cover the same minute, so "who is on duty" has one answer.

Without ``CP247_ROSTER`` the built-in ``DEFAULT_ROSTER`` applies: each CP's institutional duty
desk (``police.duty@cp247.example`` / ``prosecution.duty@cp247.example``, UTC) around the clock,
with itself as head of unit. It keeps a development system alerting somewhere; replace it before
going live (``Roster.is_default`` tells a service to warn).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from cp247.config import ConfigurationError, setting
from cp247.validation import EMAIL_ADDRESS, USERNAME

__all__ = [
    "CONTACT_POINTS",
    "DEFAULT_ROSTER",
    "ENV_VAR",
    "ContactPointRoster",
    "Override",
    "Person",
    "Roster",
    "Shift",
    "ack_token",
    "check_ack_token",
]

ENV_VAR = "CP247_ROSTER"
CONTACT_POINTS = ("police", "prosecution")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_ESCALATE_AFTER_MINUTES = 15
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

CP_FIELDS = frozenset(
    {
        "time_zone",
        "people",
        "shifts",
        "overrides",
        "backup",
        "head_of_unit",
        "escalate_after_minutes",
    }
)
REQUIRED_CP_FIELDS = frozenset({"time_zone", "people", "shifts", "head_of_unit"})
PERSON_FIELDS = frozenset({"name", "email", "phone", "languages"})
OPTIONAL_PERSON_FIELDS = frozenset({"username"})  # their cp247 login; default: the person id
SHIFT_FIELDS = frozenset({"days", "start", "end", "person"})
OVERRIDE_FIELDS = frozenset({"start", "end", "person"})

PERSON_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
EMAIL = re.compile(EMAIL_ADDRESS)
LOGIN = re.compile(USERNAME)
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
PHONE_FORMATTING = re.compile(r"[\s\-()]")
LANGUAGE = re.compile(r"[a-z]{2}")
CLOCK_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def _desk(cp: str) -> dict[str, Any]:
    return {
        "time_zone": "UTC",
        "people": {
            "duty-desk": {
                "name": f"{cp.capitalize()} CP duty desk",
                "email": f"{cp}.duty@cp247.example",
                "phone": "+40000000000" if cp == "police" else "+40000000001",
                "languages": ["en"],
            }
        },
        # start == end: one 24-hour shift a day, so the desk covers the whole week.
        "shifts": [{"days": list(DAYS), "start": "00:00", "end": "00:00", "person": "duty-desk"}],
        "overrides": [],
        "backup": [],
        "head_of_unit": "duty-desk",
        "escalate_after_minutes": DEFAULT_ESCALATE_AFTER_MINUTES,
    }


DEFAULT_ROSTER: dict[str, Any] = {cp: _desk(cp) for cp in CONTACT_POINTS}
DEFAULT_SOURCE = "built-in default roster"


@dataclass(frozen=True)
class Person:
    """Someone who can be alerted: a duty officer, a backup or the head of unit."""

    id: str
    name: str
    email: str
    phone: str  # E.164, compacted: +40721000101
    languages: tuple[str, ...]
    username: str = ""  # their cp247 login, which ties their reads to their duty hours


@dataclass(frozen=True)
class Shift:
    """A weekly shift; ``start``/``end`` are minutes after local midnight (end may be 1440)."""

    days: tuple[str, ...]
    start: int
    end: int
    person: str

    @property
    def length(self) -> int:
        """Minutes on duty: an end at or before the start is on the next day."""
        return (self.end - self.start) % MINUTES_PER_DAY or MINUTES_PER_DAY

    def segments(self) -> Iterable[tuple[int, int]]:
        """The [start, end) minutes of the week (0 = Monday 00:00) that the shift covers."""
        for day in self.days:
            first = DAYS.index(day) * MINUTES_PER_DAY + self.start
            last = first + self.length
            if last <= MINUTES_PER_WEEK:
                yield first, last
            else:  # Sunday night runs into Monday morning
                yield first, MINUTES_PER_WEEK
                yield 0, last - MINUTES_PER_WEEK

    def describe(self) -> str:
        return f"{','.join(self.days)} {_clock(self.start)}-{_clock(self.end)} {self.person}"


@dataclass(frozen=True)
class Override:
    """An absolute period in which ``person`` is on duty whatever the weekly schedule says."""

    start: datetime
    end: datetime
    person: str


@dataclass(frozen=True)
class ContactPointRoster:
    """One CP's validated roster; ``coverage[m]`` is the person id on duty at minute ``m``."""

    name: str
    time_zone: ZoneInfo
    people: Mapping[str, Person]
    shifts: tuple[Shift, ...]
    overrides: tuple[Override, ...]
    backup: tuple[str, ...]
    head_of_unit: str
    escalate_after: timedelta
    coverage: tuple[str | None, ...]


class Roster:
    """The duty roster of both contact points. Build it with ``load`` or ``from_mapping``."""

    def __init__(self, contact_points: Mapping[str, ContactPointRoster], source: str):
        self._cps = dict(contact_points)
        self.source = source

    @classmethod
    def load(cls, path: str | None = None) -> Roster:
        """The roster in ``path``, else in the file named by ``CP247_ROSTER``, else the built-in
        ``DEFAULT_ROSTER`` (each CP's duty desk around the clock; see the module docstring)."""
        path = path or setting(ENV_VAR)
        if path is None:
            return cls.from_mapping(DEFAULT_ROSTER, source=DEFAULT_SOURCE)
        file = Path(path)
        if not file.is_file():
            raise ConfigurationError(f"{ENV_VAR}={path!r} is not a readable roster YAML file")
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"{file}: not valid YAML ({exc})") from None
        return cls.from_mapping(data, source=str(file))

    @classmethod
    def from_mapping(cls, data: Any, source: str = "roster") -> Roster:
        """A validated roster; ConfigurationError lists every problem, each by its path."""
        if not isinstance(data, Mapping):
            raise ConfigurationError(
                f"{source}: the roster must be a mapping with {' and '.join(CONTACT_POINTS)}"
            )
        problems = [
            f"unknown contact point {key!r} (expected {' or '.join(CONTACT_POINTS)})"
            for key in sorted(map(str, set(data) - set(CONTACT_POINTS)))
        ]
        problems += [f"{cp} is missing" for cp in CONTACT_POINTS if cp not in data]
        parsed = {
            cp: _parse_contact_point(cp, data[cp], problems) for cp in CONTACT_POINTS if cp in data
        }
        if problems:
            raise ConfigurationError(f"{source}: " + "; ".join(problems))
        return cls({cp: roster for cp, roster in parsed.items() if roster is not None}, source)

    @property
    def is_default(self) -> bool:
        """True for the built-in roster, which no real duty officer answers."""
        return self.source == DEFAULT_SOURCE

    def contact_point(self, cp: str) -> ContactPointRoster:
        try:
            return self._cps[cp]
        except KeyError:
            raise ValueError(
                f"unknown contact point {cp!r}; expected {' or '.join(CONTACT_POINTS)}"
            ) from None

    def person(self, cp: str, person_id: str) -> Person | None:
        """A person of ``cp`` by id, e.g. the one named in an acknowledgement token."""
        return self.contact_point(cp).people.get(person_id)

    def person_of_user(self, cp: str, username: str) -> Person | None:
        """The person of ``cp`` who logs in to cp247 as ``username``, if the roster lists them."""
        people = self.contact_point(cp).people.values()
        return next((person for person in people if person.username == username), None)

    def on_duty(self, cp: str, at: datetime) -> Person | None:
        """Who is on duty at ``at`` (timezone-aware): an override covering it, else the shift
        covering the wall-clock time in the CP's zone; None in a gap of the schedule."""
        if at.tzinfo is None or at.utcoffset() is None:
            # The same wall-clock time is a different instant in each zone (DOMAIN.md).
            raise ValueError("on_duty needs a timezone-aware datetime")
        roster = self.contact_point(cp)
        for override in roster.overrides:
            if override.start <= at < override.end:
                return roster.people[override.person]
        # Wall-clock lookup in the CP's zone is what makes DST safe: a 22:00-06:00 shift lasts
        # 7 or 9 real hours on the change nights, and 03:30 on the spring-forward Sunday never
        # happens, so a shift starting then begins at 04:00 instead of leaving a gap.
        local = at.astimezone(roster.time_zone)
        minute = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
        person_id = roster.coverage[minute]
        return roster.people[person_id] if person_id is not None else None

    def escalation_chain(self, cp: str, at: datetime) -> list[Person]:
        """On-duty person, then the backups in order, then the head of unit; nobody twice."""
        roster = self.contact_point(cp)
        on_duty = self.on_duty(cp, at)
        ids = [on_duty.id] if on_duty is not None else []
        for person_id in roster.backup:
            # The head is skipped here so that, wherever else they are listed, they come last.
            if person_id not in ids and person_id != roster.head_of_unit:
                ids.append(person_id)
        if roster.head_of_unit not in ids:
            ids.append(roster.head_of_unit)
        return [roster.people[person_id] for person_id in ids]

    def next_to_alert(self, cp: str, at: datetime, already_alerted: list[str]) -> Person | None:
        """The first person of the chain at ``at`` not yet alerted; None when all have been.

        The chain is taken at ``at``, not when the alert was raised: if the shift changed in
        between, the officer who just came on duty is woken before anyone further up."""
        alerted = set(already_alerted)
        for person in self.escalation_chain(cp, at):
            if person.id not in alerted:
                return person
        return None

    def escalate_after(self, cp: str) -> timedelta:
        """How long an unacknowledged alert waits before the next person is alerted."""
        return self.contact_point(cp).escalate_after

    def gaps(self, cp: str) -> list[str]:
        """The weekly hours no shift covers, as text, e.g. ``"sat 20:00-sun 08:00 (12 h)"``.

        Overrides are not counted: they are one-off, and next week the gap is back."""
        coverage = self.contact_point(cp).coverage
        return [
            _describe_range(a, b) for a, b in _runs(m for m, p in enumerate(coverage) if p is None)
        ]


def _parse_contact_point(cp: str, data: Any, problems: list[str]) -> ContactPointRoster | None:
    """One CP's roster; its problems are appended to ``problems``, prefixed by ``cp``."""
    if not isinstance(data, Mapping):
        problems.append(f"{cp} must be a mapping with {', '.join(sorted(REQUIRED_CP_FIELDS))}")
        return None
    before = len(problems)
    problems += [
        f"{cp}: unknown setting {key!r}" for key in sorted(map(str, set(data) - CP_FIELDS))
    ]
    problems += [f"{cp}.{key} is missing" for key in sorted(REQUIRED_CP_FIELDS - set(data))]

    zone_name = data.get("time_zone")
    zone = _zone(zone_name)
    if "time_zone" in data and zone is None:
        problems.append(
            f"{cp}.time_zone {zone_name!r} is not an IANA time zone, e.g. Europe/Bucharest"
        )

    people = _parse_people(cp, data.get("people"), problems) if "people" in data else {}
    # Checked against the ids declared, not those that parsed: a person with a bad phone is
    # reported once, not again at every shift they work.
    declared = set(data["people"]) if isinstance(data.get("people"), Mapping) else None

    def known(person_id: Any, where: str) -> None:
        if declared is not None and (not isinstance(person_id, str) or person_id not in declared):
            problems.append(f"{where}: unknown person {person_id!r} (not in {cp}.people)")

    shifts = []
    raw_shifts = data.get("shifts", [])
    if not isinstance(raw_shifts, list):
        problems.append(f"{cp}.shifts must be a list of {{days, start, end, person}}")
        raw_shifts = []
    for index, raw in enumerate(raw_shifts):
        shifts.append(_parse_shift(f"{cp}.shifts[{index}]", raw, problems))
        # Checked even when the times are wrong, so that one pass names every problem.
        if isinstance(raw, Mapping) and "person" in raw:
            known(raw["person"], f"{cp}.shifts[{index}]")
    coverage = _coverage(cp, shifts, problems)

    overrides = []
    raw_overrides = data.get("overrides") or []
    if not isinstance(raw_overrides, list):
        problems.append(f"{cp}.overrides must be a list of {{start, end, person}}")
        raw_overrides = []
    for index, raw in enumerate(raw_overrides):
        override = _parse_override(f"{cp}.overrides[{index}]", raw, problems)
        if isinstance(raw, Mapping) and "person" in raw:
            known(raw["person"], f"{cp}.overrides[{index}]")
        if override is not None:
            overrides.append((index, override))
    # Two overrides at once would leave "who is on duty" to the order of the file.
    for n, (i, first) in enumerate(overrides):
        for j, second in overrides[n + 1 :]:
            if first.start < second.end and second.start < first.end:
                problems.append(f"{cp}.overrides[{i}] and {cp}.overrides[{j}] overlap")

    backup = data.get("backup") or []
    if not isinstance(backup, list):
        problems.append(f"{cp}.backup must be a list of person ids")
        backup = []
    for index, person_id in enumerate(backup):
        known(person_id, f"{cp}.backup[{index}]")
    head = data.get("head_of_unit")
    if "head_of_unit" in data:
        known(head, f"{cp}.head_of_unit")

    escalate = data.get("escalate_after_minutes", DEFAULT_ESCALATE_AFTER_MINUTES)
    if isinstance(escalate, bool) or not isinstance(escalate, int) or not 1 <= escalate <= 1440:
        problems.append(f"{cp}.escalate_after_minutes must be a whole number from 1 to 1440")

    if len(problems) > before or zone is None:
        return None
    return ContactPointRoster(
        name=cp,
        time_zone=zone,
        people=MappingProxyType(people),
        shifts=tuple(s for s in shifts if s is not None),
        overrides=tuple(o for _, o in overrides),
        backup=tuple(backup),
        head_of_unit=str(head),
        escalate_after=timedelta(minutes=escalate),
        coverage=coverage,
    )


def _zone(name: Any) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError and OSError: malformed keys such as "a/../b" or a directory name.
        return None


def _parse_people(cp: str, data: Any, problems: list[str]) -> dict[str, Person]:
    if not isinstance(data, Mapping) or not data:
        problems.append(f"{cp}.people must map person ids to {{name, email, phone, languages}}")
        return {}
    people: dict[str, Person] = {}
    for person_id, raw in data.items():
        where = f"{cp}.people.{person_id}"
        before = len(problems)
        if not isinstance(person_id, str) or not PERSON_ID.fullmatch(person_id):
            problems.append(f"{where}: a person id is letters, digits, '.', '_' or '-'")
        if not isinstance(raw, Mapping):
            problems.append(f"{where} must be a mapping with name, email, phone, languages")
            continue
        problems += [
            f"{where}: unknown field {k!r}"
            for k in sorted(map(str, set(raw) - PERSON_FIELDS - OPTIONAL_PERSON_FIELDS))
        ]
        problems += [f"{where}.{k} is missing" for k in sorted(PERSON_FIELDS - set(raw))]
        name, email = raw.get("name"), raw.get("email")
        if "name" in raw and not (isinstance(name, str) and name.strip()):
            problems.append(f"{where}.name must be a name, not empty")
        if "email" in raw and not (isinstance(email, str) and EMAIL.fullmatch(email)):
            problems.append(f"{where}.email {email!r} is not an e-mail address")
        phone = _phone(raw.get("phone"))
        if "phone" in raw and phone is None:
            hint = " (quote it: unquoted, YAML reads +40... as a number)"
            problems.append(
                f"{where}.phone {raw.get('phone')!r} is not an E.164 number, e.g. +40 21 123 4567"
                + (hint if isinstance(raw.get("phone"), int) else "")
            )
        username = raw.get("username", person_id)
        if not (isinstance(username, str) and LOGIN.fullmatch(username)):
            problems.append(f"{where}.username {username!r} is not a cp247 username")
        languages = raw.get("languages")
        if "languages" in raw and not (
            isinstance(languages, list)
            and languages
            and all(isinstance(code, str) and LANGUAGE.fullmatch(code) for code in languages)
        ):
            problems.append(
                f"{where}.languages must list ISO 639-1 codes, e.g. [ro, en] "
                '(quote "no": unquoted, YAML reads it as false)'
            )
        if len(problems) == before:
            people[person_id] = Person(
                id=person_id,
                name=name.strip(),
                email=email,
                phone=str(phone),
                languages=tuple(dict.fromkeys(languages)),
                username=username,
            )
    return people


def _phone(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    compact = PHONE_FORMATTING.sub("", value)
    return compact if E164.fullmatch(compact) else None


def _parse_shift(where: str, data: Any, problems: list[str]) -> Shift | None:
    if not isinstance(data, Mapping):
        problems.append(f"{where} must be a mapping with days, start, end, person")
        return None
    before = len(problems)
    problems += [
        f"{where}: unknown field {k!r}" for k in sorted(map(str, set(data) - SHIFT_FIELDS))
    ]
    problems += [f"{where}.{k} is missing" for k in sorted(SHIFT_FIELDS - set(data))]
    days = data.get("days")
    if "days" in data:
        if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
            problems.append(f"{where}.days must be a list of {', '.join(DAYS)}")
        elif len(set(days)) != len(days):
            problems.append(f"{where}.days names a day twice")
    start = _time(f"{where}.start", data.get("start"), problems) if "start" in data else None
    end = _time(f"{where}.end", data.get("end"), problems, end=True) if "end" in data else None
    person = data.get("person")
    if len(problems) > before or start is None or end is None:
        return None
    return Shift(days=tuple(days), start=start, end=end, person=person)


def _time(where: str, value: Any, problems: list[str], end: bool = False) -> int | None:
    """Minutes after midnight of "HH:MM"; "24:00" only as an end."""
    if end and value == "24:00":
        return MINUTES_PER_DAY
    match = CLOCK_TIME.fullmatch(value) if isinstance(value, str) else None
    if match:
        return int(match[1]) * 60 + int(match[2])
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MINUTES_PER_DAY:
        # YAML 1.1 reads an unquoted 22:00 as sexagesimal 22 * 60 + 0 = 1320.
        meant = f"{value // 60:02d}:{value % 60:02d}"
        problems.append(
            f"{where} is the number {value}, which is how YAML reads an unquoted {meant}; "
            f'write it in quotes: "{meant}"'
        )
    else:
        latest = "24:00" if end else "23:59"
        problems.append(f"{where} {value!r} is not a time HH:MM from 00:00 to {latest}")
    return None


def _parse_override(where: str, data: Any, problems: list[str]) -> Override | None:
    if not isinstance(data, Mapping):
        problems.append(f"{where} must be a mapping with start, end, person")
        return None
    before = len(problems)
    problems += [
        f"{where}: unknown field {k!r}" for k in sorted(map(str, set(data) - OVERRIDE_FIELDS))
    ]
    problems += [f"{where}.{k} is missing" for k in sorted(OVERRIDE_FIELDS - set(data))]
    start = _instant(f"{where}.start", data.get("start"), problems) if "start" in data else None
    end = _instant(f"{where}.end", data.get("end"), problems) if "end" in data else None
    if start is not None and end is not None and end <= start:
        problems.append(f"{where}.end must be after its start")
    if len(problems) > before or start is None or end is None:
        return None
    return Override(start=start, end=end, person=data.get("person"))


def _instant(where: str, value: Any, problems: list[str]) -> datetime | None:
    """An ISO date-time with a UTC offset; YAML may already have made it a datetime."""
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None:
        problems.append(
            f"{where} {value!r} is not an ISO date-time, e.g. 2026-04-14T20:00:00+03:00"
        )
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        # Without an offset the instant depends on whose clock is meant (DOMAIN.md).
        problems.append(f"{where} {value!s} has no UTC offset; add one, e.g. +03:00 or Z")
        return None
    return parsed


def _coverage(cp: str, shifts: list[Shift | None], problems: list[str]) -> tuple[str | None, ...]:
    """Who is on duty at each minute of the week; overlapping shifts named with where."""
    valid = {index: shift for index, shift in enumerate(shifts) if shift is not None}
    owner: list[int | None] = [None] * MINUTES_PER_WEEK
    coverage: list[str | None] = [None] * MINUTES_PER_WEEK
    clashes: dict[tuple[int, int], list[int]] = {}
    for index, shift in valid.items():
        for first, last in shift.segments():
            # Slices, not minute by minute, wherever nothing clashes: it runs at every start-up.
            if owner[first:last].count(None) == last - first:
                owner[first:last] = [index] * (last - first)
                coverage[first:last] = [shift.person] * (last - first)
                continue
            for minute in range(first, last):
                other = owner[minute]
                if other is None:
                    owner[minute], coverage[minute] = index, shift.person
                else:
                    clashes.setdefault((other, index), []).append(minute)
    for (i, j), minutes in sorted(clashes.items()):
        when = ", ".join(_describe_range(a, b) for a, b in _runs(minutes))
        problems.append(
            f"{cp}.shifts[{i}] ({valid[i].describe()}) and {cp}.shifts[{j}] "
            f"({valid[j].describe()}) overlap: {when}"
        )
    return tuple(coverage)


def _runs(minutes: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted minutes of the week as [start, end) runs; a run through Sunday midnight is one
    run, whose end is then past the end of the week."""
    runs: list[list[int]] = []
    for minute in sorted(set(minutes)):
        if runs and runs[-1][1] == minute:
            runs[-1][1] = minute + 1
        else:
            runs.append([minute, minute + 1])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == MINUTES_PER_WEEK:
        first = runs.pop(0)
        runs[-1][1] = MINUTES_PER_WEEK + first[1]
    return [(start, end) for start, end in runs]


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _describe_range(start: int, end: int) -> str:
    """[start, end) minutes of the week as "sat 20:00-sun 08:00 (12 h)"; an end at midnight
    reads "24:00" of the day before, so a run never seems to take in the next day."""
    last = end - 1
    start_day, end_day = start // MINUTES_PER_DAY, last // MINUTES_PER_DAY
    end_clock = _clock(end - end_day * MINUTES_PER_DAY)
    text = f"{DAYS[start_day % 7]} {_clock(start % MINUTES_PER_DAY)}-"
    text += end_clock if end_day == start_day else f"{DAYS[end_day % 7]} {end_clock}"
    hours, minutes = divmod(end - start, 60)
    length = " ".join(
        p for p in (f"{hours} h" if hours else "", f"{minutes} min" if minutes else "") if p
    )
    return f"{text} ({length})"


# Acknowledgement links. The token carries the alert and the person, so the link works without
# a session; the MAC, under a context label, makes it unforgeable and useless for anything else
# signed with the same secret (e.g. the webhook master key).
_ACK_CONTEXT = b"cp247 duty-alert acknowledgement v1\x00"
MIN_SECRET_BYTES = 16
# Longer than any real token; stops garbage from making us decode megabytes.
MAX_TOKEN_CHARS = 2048


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def ack_token(alert_id: str, person_id: str, secret: bytes) -> str:
    """A URL-safe token ``<payload>.<HMAC-SHA256>`` that acknowledges ``alert_id`` as
    ``person_id``; ``secret`` is at least 16 bytes. Raises ValueError on bad arguments."""
    if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the acknowledgement secret must be at least {MIN_SECRET_BYTES} bytes")
    if not (isinstance(alert_id, str) and alert_id and isinstance(person_id, str) and person_id):
        raise ValueError("alert_id and person_id must be non-empty strings")
    # JSON frames the two ids unambiguously whatever they contain; ASCII keeps it encodable.
    payload = json.dumps([alert_id, person_id], separators=(",", ":")).encode("ascii")
    mac = hmac.new(secret, _ACK_CONTEXT + payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def check_ack_token(token: Any, secret: bytes) -> tuple[str, str] | None:
    """``(alert_id, person_id)`` of a genuine token, else None; never raises on garbage."""
    if not isinstance(token, str) or not token.isascii() or len(token) > MAX_TOKEN_CHARS:
        return None
    encoded, dot, _ = token.partition(".")
    if not dot:
        return None
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        ids = json.loads(payload)
        if not (isinstance(ids, list) and len(ids) == 2):
            return None
        # Re-signing and comparing the whole token also refuses a non-canonical base64 spelling
        # of the same bytes, so exactly one string is valid for each acknowledgement.
        expected = ack_token(ids[0], ids[1], secret)
    except (ValueError, TypeError, RecursionError, binascii.Error):
        return None
    if not hmac.compare_digest(expected.encode("ascii"), token.encode("ascii")):
        return None
    return ids[0], ids[1]
