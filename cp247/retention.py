"""Retention: once a case has rested long enough, destroy its key (crypto-shredding).

A case is due when nothing has happened on it for the retention period (its last timeline
entry) and none of its preservation orders still runs. Destroying the case key makes every
personal field of every event of the case unreadable in every service at once; the events
themselves, the timeline and its hash chain stay, so the audit trail still verifies.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cp247.casekeys import deployment_vault
from cp247.clock import iso, parse_iso, utcnow
from cp247.config import ConfigurationError, Settings, setting

DEFAULT_RETENTION_DAYS = 730


def retention_days(given: int | None = None) -> int:
    """The period: given, else CP247_RETENTION_DAYS, else two years."""
    raw = given if given is not None else setting("CP247_RETENTION_DAYS")
    try:
        days = int(raw) if raw is not None else DEFAULT_RETENTION_DAYS
    except ValueError:
        raise ConfigurationError("CP247_RETENTION_DAYS must be a whole number of days") from None
    if days < 1:
        raise ConfigurationError("the retention period must be at least one day")
    return days


def apply_retention(
    settings: Settings,
    *,
    days: int | None = None,
    case_ids: list[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Erase the personal data of due cases (or of the cases named); returns what was done."""
    from cp247.bootstrap import make_application

    period = retention_days(days)
    cutoff = (now or utcnow()) - timedelta(days=period)
    timeline = make_application("timeline", settings)
    preservation = make_application("preservation", settings)
    vault = deployment_vault(settings)
    activity = dict(timeline.case_activity())
    named = case_ids is not None
    report: dict[str, Any] = {
        "retention_days": period,
        "cutoff": iso(cutoff),
        "dry_run": dry_run,
        "erased": [],
        "kept": [],
    }
    for case_id in case_ids if named else sorted(activity):
        last = activity.get(case_id)
        reason = None
        if not named and last is not None and parse_iso(last) > cutoff:
            continue  # still within its retention period: not worth a line
        if last is None:
            reason = "no such case"
        elif vault.shredded(case_id):
            if not named:
                continue  # erased on an earlier run
            reason = "already erased"
        elif running := [o["order_id"] for o in preservation.orders_of_case(case_id)
                         if o["closed"] is None]:  # fmt: skip
            reason = f"preservation order still running: {', '.join(running)}"
        elif waiting := [o["order_id"] for o in preservation.disclosure_orders_of_case(case_id)
                         if o["open"]]:  # fmt: skip
            # the provider would be asked for data its order no longer names
            reason = f"disclosure order still unanswered: {', '.join(waiting)}"
        if reason:
            report["kept"].append({"case_id": case_id, "reason": reason})
            continue
        if not dry_run:
            because = "named by an operator" if named else f"retention: no activity since {last}"
            vault.destroy(case_id, because)
        report["erased"].append({"case_id": case_id, "last_activity": last})
    return report
