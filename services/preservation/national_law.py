"""Who may order preservation, for how long, and who handles MLA differ by country
(seed 2.2.2, 3.2). The national policy is configuration: a built-in profile name or a YAML
file in ``CP247_POLICY``, validated at start-up with every problem named.

```yaml
name: romania-like
may_order_directly: [prosecution]      # the others need an approver
approvers: [prosecution]
default_period_days: 90                # never below Art 29(7)'s 60
maximum_period_days: 90                # one order at most (Art 16(2)); longer by extension
maximum_extension_days: 90             # added up over all extensions of an order
art29_4_reservation: false             # Art 29(4): dual criminality may be required
outgoing_receipt_hours: 24             # chase a foreign CP that has not confirmed receipt
reminder_offsets_days: [21, 7, 2]      # before expiry
competent_authorities:
  pre_trial: Prosecutor General's Office
  trial: Ministry of Justice
local_time_zone: Europe/Bucharest      # for order documents
# optional, for disclosure orders (defaults shown)
disclosure_may_order_directly: null    # null: as may_order_directly; else a list of roles
disclosure_due_days: {subscriber: 20, traffic: 45, content: 45}   # P2 Art 8(4)
disclosure_of_content: false           # content may be ordered only where the law allows
disclosure_reminder_hours: [48, 4]     # before a disclosure order's due-by
# optional, for emergencies (P2 Art 9; defaults shown)
emergency_decision_minutes: 60         # from receipt to a decision, then escalated each time
emergency_due_hours: 4                 # an emergency disclosure order's default due-by
emergency_reminder_hours: [1]          # before an emergency disclosure order's due-by
# optional: the national provisions that bind the provider, cited after the Convention
national_provisions: {preservation: "Code of Criminal Procedure art. 154", disclosure: "art. 170"}
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from cp247.config import ConfigurationError

ART29_MINIMUM_DAYS = 60  # Art 29(7): not less than sixty days
ROLES = ("police", "prosecution")
DATA_TYPES = ("subscriber", "traffic", "content")
# P2 Art 8(4): subscriber information within 20 days, traffic data within 45.
DISCLOSURE_DUE_DAYS = {"subscriber": 20, "traffic": 45, "content": 45}
STAGES = ("pre_trial", "trial")


@dataclass(frozen=True)
class NationalPolicy:
    name: str
    # Roles whose orders are issued at once; the others wait for an approver.
    may_order_directly: frozenset[str]
    approvers: frozenset[str]
    default_period_days: int
    maximum_extension_days: int
    reminder_offsets_days: tuple[int, ...]
    competent_authorities: dict[str, str]
    local_time_zone: str
    maximum_period_days: int = 90
    art29_4_reservation: bool = False
    outgoing_receipt_hours: int = 24
    # Disclosure orders (issue 20): who may order them without a prosecutor's approval (None:
    # as for preservation), the days a provider has by data type, and whether content may
    # be ordered at all (where national law allows it).
    disclosure_may_order_directly: frozenset[str] | None = None
    disclosure_due_days: dict[str, int] = field(default_factory=lambda: dict(DISCLOSURE_DUE_DAYS))
    disclosure_of_content: bool = False
    # Reminders before a disclosure order's due-by, in hours (those shorter than the time
    # the provider was given).
    disclosure_reminder_hours: tuple[int, ...] = (48, 4)
    # P2 Art 9: minutes to decide an emergency request; hours for the provider to answer.
    emergency_decision_minutes: int = 60
    emergency_due_hours: int = 4
    emergency_reminder_hours: tuple[int, ...] = (1,)
    # What binds the provider at home, by order kind, cited after the Convention article.
    national_provisions: dict[str, str] = field(default_factory=dict)

    def legal_basis(self, kind: str, convention: str) -> str:
        """The order's legal basis: the Convention's article, then the national provision."""
        provision = self.national_provisions.get(kind)
        return f"{convention}; national law: {provision}" if provision else convention

    def period(self, requested_days: int | None) -> int:
        """The preservation period: as asked, within the Convention's minimum (Art 29(7))
        and the national maximum of one order (Art 16(2))."""
        # legal-rule: art29-7-minimum-period
        days = max(requested_days or self.default_period_days, ART29_MINIMUM_DAYS)
        return min(days, max(self.maximum_period_days, ART29_MINIMUM_DAYS))

    def period_problem(self, requested_days: int | None) -> str | None:
        """Why an officer may not order ``requested_days``, or None (None: the default)."""
        if requested_days is None:
            return None
        # legal-rule: art29-7-officer-order-minimum
        if requested_days < ART29_MINIMUM_DAYS:
            return (
                f"Art 29(7): preservation is for not less than {ART29_MINIMUM_DAYS} days; "
                f"{requested_days} is too short"
            )
        # legal-rule: art16-2-maximum-period
        if requested_days > self.maximum_period_days:
            return (
                f"Art 16(2): one order is for at most {self.maximum_period_days} days under "
                f"{self.name}; longer preservation is by extension"
            )
        return None

    def needs_approval(self, role: str) -> bool:
        return role not in self.may_order_directly

    def disclosure_needs_approval(self, role: str) -> bool:
        directly = self.disclosure_may_order_directly
        return role not in (self.may_order_directly if directly is None else directly)

    def emergency_due_by(self, now: datetime) -> datetime:
        """An emergency disclosure order's default due-by: hours, not days (P2 Art 9)."""
        return now + timedelta(hours=self.emergency_due_hours)

    def disclosure_due_by(self, data_types: list[str], now: datetime) -> datetime:
        """The default due-by of a disclosure order: the longest of its data types' periods
        (P2 Art 8(4): 20 days for subscriber information, 45 for traffic data)."""
        days = max(self.disclosure_due_days[t] for t in data_types or ["subscriber"])
        return now + timedelta(days=days)

    def competent_authority(self, stage: str) -> str | None:
        return self.competent_authorities.get(stage)


PROFILES: dict[str, dict[str, Any]] = {
    # Romania-like: the police CP needs the prosecution CP; 90-day ordinances.
    "police-needs-approval": {
        "name": "police-needs-approval",
        "may_order_directly": ["prosecution"],
        "approvers": ["prosecution"],
        "default_period_days": 90,
        "maximum_extension_days": 90,
        "reminder_offsets_days": [21, 7, 2],
        "competent_authorities": {
            "pre_trial": "Prosecutor General's Office",
            "trial": "Ministry of Justice",
        },
        "local_time_zone": "Europe/Bucharest",
    },
    # Norway-like: the CP orders preservation directly.
    "cp-orders-directly": {
        "name": "cp-orders-directly",
        "may_order_directly": ["police", "prosecution"],
        "approvers": ["prosecution"],
        "default_period_days": 90,
        "maximum_extension_days": 90,
        "reminder_offsets_days": [21, 7, 2],
        "competent_authorities": {
            "pre_trial": "Director of Public Prosecutions",
            "trial": "Ministry of Justice",
        },
        "local_time_zone": "Europe/Oslo",
    },
}
# Settings a policy file may leave out, with their defaults.
OPTIONAL = {
    "maximum_period_days": 90,
    "art29_4_reservation": False,
    "outgoing_receipt_hours": 24,
    "disclosure_may_order_directly": None,
    "disclosure_due_days": DISCLOSURE_DUE_DAYS,
    "disclosure_of_content": False,
    "disclosure_reminder_hours": [48, 4],
    "emergency_decision_minutes": 60,
    "emergency_due_hours": 4,
    "emergency_reminder_hours": [1],
    "national_provisions": {},
}
FIELDS = set(PROFILES["police-needs-approval"]) | set(OPTIONAL)
REQUIRED = set(PROFILES["police-needs-approval"])


def _days(value: Any, minimum: int) -> bool:
    return _within(value, minimum, 3650)


def _within(value: Any, minimum: int, maximum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum


def parse_policy(data: Any, source: str) -> NationalPolicy:
    """A validated policy; ConfigurationError lists every problem, by field."""
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source}: the policy must be a mapping of settings")
    problems = [f"unknown setting {key!r}" for key in sorted(set(data) - FIELDS)]
    problems += [f"{key} is missing" for key in sorted(REQUIRED - set(data))]
    data = {**OPTIONAL, **data}
    roles = [data.get("may_order_directly"), data.get("approvers")]
    for key, value in zip(("may_order_directly", "approvers"), roles, strict=True):
        if not isinstance(value, list) or any(role not in ROLES for role in value):
            problems.append(f"{key} must be a list of roles from {ROLES}")
    if isinstance(data.get("approvers"), list) and not data["approvers"]:
        problems.append("approvers must name at least one role, or nobody could approve")
    # legal-rule: art29-7-minimum-period
    if not _days(data.get("default_period_days"), ART29_MINIMUM_DAYS):
        problems.append(
            f"default_period_days must be a whole number of days >= {ART29_MINIMUM_DAYS} "
            "(Art 29(7))"
        )
    if not _days(data.get("maximum_period_days"), ART29_MINIMUM_DAYS):
        problems.append(
            f"maximum_period_days must be a whole number of days >= {ART29_MINIMUM_DAYS} "
            "(Art 29(7)); Art 16(2) speaks of up to 90"
        )
    elif _days(data.get("default_period_days"), 0) and (
        data["default_period_days"] > data["maximum_period_days"]
    ):
        problems.append("default_period_days must not exceed maximum_period_days")
    if not isinstance(data.get("art29_4_reservation"), bool):
        problems.append("art29_4_reservation must be true or false (Art 29(4) reservation)")
    if not _days(data.get("outgoing_receipt_hours"), 1):
        problems.append("outgoing_receipt_hours must be a whole number of hours >= 1")
    directly = data.get("disclosure_may_order_directly")
    if directly is not None and (
        not isinstance(directly, list) or any(role not in ROLES for role in directly)
    ):
        problems.append(f"disclosure_may_order_directly must be a list of roles from {ROLES}")
    due_days = data.get("disclosure_due_days")
    if (
        not isinstance(due_days, dict)
        or set(due_days) != set(DATA_TYPES)
        or not all(_days(d, 1) for d in due_days.values())
    ):
        problems.append(f"disclosure_due_days must give whole days >= 1 for each of {DATA_TYPES}")
    if not isinstance(data.get("disclosure_of_content"), bool):
        problems.append("disclosure_of_content must be true or false")
    reminder_hours = data.get("disclosure_reminder_hours")
    if not isinstance(reminder_hours, list) or not all(_days(h, 1) for h in reminder_hours):
        problems.append("disclosure_reminder_hours must be a list of whole hours >= 1")
    if not _within(data.get("emergency_decision_minutes"), 1, 1440):
        problems.append("emergency_decision_minutes must be whole minutes, 1 to 1440 (P2 Art 9)")
    if not _within(data.get("emergency_due_hours"), 1, 72):
        problems.append("emergency_due_hours must be whole hours from 1 to 72 (P2 Art 9)")
    emergency_hours = data.get("emergency_reminder_hours")
    if not isinstance(emergency_hours, list) or not all(_within(h, 1, 72) for h in emergency_hours):
        problems.append("emergency_reminder_hours must be a list of whole hours from 1 to 72")
    provisions = data.get("national_provisions")
    if not isinstance(provisions, dict) or not all(
        k in ("preservation", "disclosure") and isinstance(v, str) and v.strip()
        for k, v in provisions.items()
    ):
        problems.append(
            "national_provisions must map preservation and/or disclosure to the provision's text"
        )
    if not _days(data.get("maximum_extension_days"), 0):
        problems.append("maximum_extension_days must be a whole number of days >= 0")
    offsets = data.get("reminder_offsets_days")
    if not isinstance(offsets, list) or not all(_days(o, 1) for o in offsets):
        problems.append("reminder_offsets_days must be a list of whole days >= 1")
    authorities = data.get("competent_authorities")
    if not isinstance(authorities, dict) or set(authorities) != set(STAGES):
        problems.append(f"competent_authorities must name an authority for each of {STAGES}")
    elif not all(isinstance(v, str) and v.strip() for v in authorities.values()):
        problems.append("competent_authorities must be names, not empty")
    zone = data.get("local_time_zone")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"local_time_zone {zone!r} is not an IANA time zone, e.g. Europe/Oslo")
    if not isinstance(data.get("name"), str) or not data.get("name"):
        problems.append("name must be a short text")
    if problems:
        raise ConfigurationError(f"{source}: " + "; ".join(problems))
    return NationalPolicy(
        name=data["name"],
        may_order_directly=frozenset(data["may_order_directly"]),
        approvers=frozenset(data["approvers"]),
        default_period_days=data["default_period_days"],
        maximum_extension_days=data["maximum_extension_days"],
        maximum_period_days=data["maximum_period_days"],
        art29_4_reservation=data["art29_4_reservation"],
        outgoing_receipt_hours=data["outgoing_receipt_hours"],
        reminder_offsets_days=tuple(sorted(set(offsets), reverse=True)),
        competent_authorities=dict(authorities),
        local_time_zone=str(zone),
        disclosure_may_order_directly=None if directly is None else frozenset(directly),
        disclosure_due_days=dict(due_days),
        disclosure_of_content=data["disclosure_of_content"],
        disclosure_reminder_hours=tuple(sorted(set(reminder_hours), reverse=True)),
        emergency_decision_minutes=data["emergency_decision_minutes"],
        emergency_due_hours=data["emergency_due_hours"],
        emergency_reminder_hours=tuple(sorted(set(emergency_hours), reverse=True)),
        national_provisions={k: v.strip() for k, v in provisions.items()},
    )


def national_policy(name_or_path: str) -> NationalPolicy:
    """A built-in profile by name, or a YAML policy file by path."""
    if name_or_path in PROFILES:
        return parse_policy(PROFILES[name_or_path], f"profile {name_or_path}")
    path = Path(name_or_path)
    if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
        raise ConfigurationError(
            f"CP247_POLICY={name_or_path!r} is neither a profile ({', '.join(sorted(PROFILES))}) "
            "nor a readable .yaml policy file"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML ({exc})") from None
    return parse_policy(data, str(path))
