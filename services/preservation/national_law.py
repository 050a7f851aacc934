"""Who may order preservation, and for how long, differs by country (seed 2.2.2, 3.2).

A profile is chosen by ``CP247_POLICY``; the preservation issue makes this a validated file.
"""

from __future__ import annotations

from dataclasses import dataclass

from cp247.config import ConfigurationError

ART29_MINIMUM_DAYS = 60  # Art 29(7): not less than sixty days


@dataclass(frozen=True)
class NationalPolicy:
    name: str
    # Roles whose orders are issued at once; the others wait for a prosecutor's approval.
    may_order_directly: frozenset[str]
    approvers: frozenset[str]
    default_period_days: int

    def period(self, requested_days: int | None) -> int:
        """The preservation period: as asked, never below the Convention's minimum."""
        return max(requested_days or self.default_period_days, ART29_MINIMUM_DAYS)

    def needs_approval(self, role: str) -> bool:
        return role not in self.may_order_directly


PROFILES = {
    # Romania-like: the police CP needs the prosecution CP; 90-day ordinances.
    "police-needs-approval": NationalPolicy(
        name="police-needs-approval",
        may_order_directly=frozenset({"prosecution"}),
        approvers=frozenset({"prosecution"}),
        default_period_days=90,
    ),
    # Norway-like: the CP orders preservation directly.
    "cp-orders-directly": NationalPolicy(
        name="cp-orders-directly",
        may_order_directly=frozenset({"police", "prosecution"}),
        approvers=frozenset({"prosecution"}),
        default_period_days=90,
    ),
}


def national_policy(name: str) -> NationalPolicy:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigurationError(
            f"CP247_POLICY={name!r} is not a known profile; choose one of {sorted(PROFILES)}"
        ) from None
