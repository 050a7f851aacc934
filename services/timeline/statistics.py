"""Figures for oversight (the seed's tables, T-CY reporting): counts, median times, MLA
follow-up. A projection kept with the timeline, one small aggregate per year, so answering
never scans cases; and aggregates only: no case ids, names or identifiers leave it.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from cp247.clock import parse_iso

FIGURES_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/figures")

# The paper's families: preservation (Arts 29 + 30) and formal MLA (Arts 31 + 33 + 34).
FAMILIES = {
    "preservation": "preservation",
    "traffic_disclosure": "preservation",
    "mla_stored_data": "mla",
    "mla_realtime_traffic": "mla",
    "mla_interception": "mla",
}
# Each measured duration: (start milestone, end milestone), keyed by request or order id.
DURATIONS = {
    "receipt_to_acknowledgement": ("received", "acknowledged"),
    "receipt_to_order_issued": ("received", "order_issued"),
    "order_issued_to_provider_acknowledgement": ("issued", "provider_acknowledged"),
    "mla_recorded_to_decision": ("mla_recorded", "mla_decided"),
    # Our own requests abroad: sent to the foreign CP's receipt, and to its answer.
    "sent_to_foreign_receipt": ("sent", "foreign_receipt"),
    "sent_to_foreign_answer": ("sent", "foreign_answer"),
    # Identification and emergency requests (issue 20): receipt to the provider's first
    # production, and to the first transmission to the requesting Party.
    "identification_receipt_to_production": ("identification_received", "produced"),
    "identification_receipt_to_transmission": ("identification_received", "transmitted"),
    "emergency_receipt_to_production": ("emergency_received", "produced"),
    "emergency_receipt_to_transmission": ("emergency_received", "transmitted"),
}
# The requests a disclosure order answers, by the name their figures carry.
DISCLOSURE_TYPES = {"subscriber_identification": "identification",
                    "emergency_disclosure": "emergency"}  # fmt: skip
DISCLOSURE_COUNTS = ("identification_received", "emergency_received", "productions",
                     "sent_production", "sent_art30", "withheld_art30")  # fmt: skip
# Preservation (Art 29) apart from partial disclosure of traffic data (Art 30).
ARTICLES = {"preservation": "art29", "traffic_disclosure": "art30"}
COUNT_GROUPS = ("decisions", "refusal_grounds", "art29_6_reasons", "emergencies", "duplicates",
                "by_article", "disclosure")  # fmt: skip


# Durations are kept as counts per value rounded to this many significant figures: a year's
# figures stay a few kilobytes however many cases it has (a list of every duration made each
# snapshot, and so a rebuild, grow without bound), and a median is still within 0.5 %.
SIGNIFICANT_FIGURES = 3


def family(request_type: str) -> str:
    return FAMILIES.get(request_type, "other")


def milestones_of(event_name: str, payload: dict[str, Any], at: str) -> dict[str, str]:
    """The moments an event marks, as ``"<milestone>:<request or order id>" -> ISO time``.

    What happened, not when the software noted it: a request was received when it arrived
    (``received_at``, given by the officer or the channel), and its receipt acknowledged when
    the message was delivered (``NotificationSent``), not when it was queued."""
    if event_name == "RequestReceived":
        received = payload.get("received_at") or at
        marks = {f"received:{payload['request_id']}": received}
        kind = DISCLOSURE_TYPES.get(payload["type"])
        if kind and payload["direction"] == "incoming":
            marks[f"{kind}_received:{payload['request_id']}"] = received
        return marks
    if event_name == "DataProduced" and payload.get("request_id"):
        return {f"produced:{payload['request_id']}": payload["produced_at"]}
    if event_name == "DisclosureSent" and payload["kind"] == "production":
        return {f"transmitted:{payload['request_id']}": payload["sent_at"]}
    if event_name == "NotificationSent" and payload.get("template") == "receipt":
        return {f"acknowledged:{payload['request_id']}": at} if payload.get("request_id") else {}
    if event_name == "OutgoingRequestSent":
        return {f"sent:{payload['request_id']}": payload["at"]}
    if event_name == "ForeignReceiptRecorded":
        return {f"foreign_receipt:{payload['request_id']}": payload["at"]}
    if event_name == "ForeignAnswerRecorded":
        return {f"foreign_answer:{payload['request_id']}": at}
    if event_name == "OrderIssued":
        marks = {f"issued:{payload['order_id']}": at, f"expires:{payload['order_id']}": payload[
            "expires_at"]}  # fmt: skip
        if payload.get("request_id"):
            marks[f"order_issued:{payload['request_id']}"] = at
        return marks
    if event_name == "OrderExtended":
        return {f"expires:{payload['order_id']}": payload["expires_at"]}
    if event_name == "ProviderAcknowledgedOrder":
        return {f"provider_acknowledged:{payload['order_id']}": at}
    if event_name == "MlaRecorded":
        marks = {f"mla:{order_id}": at for order_id in payload["order_ids"]}
        return {**marks, f"mla_recorded:{payload['mla_id']}": at}
    if event_name == "MlaStatusChanged" and payload["status"] in ("produced", "refused"):
        return {f"mla_decided:{payload['mla_id']}": at}
    return {}


def counts_of(event_name: str, payload: dict[str, Any]) -> list[tuple[str, str]]:
    """What an event adds to the year's counts: ``(group, key)`` pairs, never case content."""
    if event_name == "RequestReceived":
        side = "received" if payload["direction"] == "incoming" else "sent"
        counted = []
        if payload["type"] in ARTICLES:
            counted.append(("by_article", f"{side}:{ARTICLES[payload['type']]}"))
        if payload["urgency"] == "emergency":
            counted.append(("emergencies", side))
        if payload.get("near_duplicate_of"):
            counted.append(("duplicates", "near"))
        kind = DISCLOSURE_TYPES.get(payload["type"])
        if kind and side == "received":
            counted.append(("disclosure", f"{kind}_received"))
        return counted
    if event_name == "DataProduced":
        return [("disclosure", "productions")]
    if event_name == "DisclosureSent":
        return [("disclosure", f"sent_{payload['kind']}")]
    if event_name == "DisclosureWithheld" and payload["kind"] == "art30":
        return [("disclosure", "withheld_art30")]
    if event_name == "DuplicateDetected":
        return [("duplicates", "exact")]
    if event_name == "RequestRefused":
        return [("decisions", "refused"), *(("refusal_grounds", g) for g in payload["grounds"])]
    if event_name == "Art296NoticeGiven":
        return [("decisions", "art29_6_notices"), ("art29_6_reasons", payload["reason"])]
    if event_name == "RequestWithdrawn":
        return [("decisions", "withdrawn")]
    return []


def figures_id(year: int) -> UUID:
    return uuid5(FIGURES_NAMESPACE, str(year))


def duration_key(seconds: float) -> str:
    """The bucket of a duration: its value to :data:`SIGNIFICANT_FIGURES` figures."""
    return f"{seconds:.{SIGNIFICANT_FIGURES}g}"


def median_of(counts: dict[str, int]) -> float | None:
    """The median of the bucketed values (the mean of the middle two for an even count)."""
    total = sum(counts.values())
    if not total:
        return None
    ranks = ((total - 1) // 2, total // 2)  # 0-based ranks of the middle value(s)
    found: list[float] = []
    seen = 0
    for value, count in sorted((float(key), count) for key, count in counts.items()):
        seen += count
        while len(found) < 2 and ranks[len(found)] < seen:
            found.append(value)
        if len(found) == 2:
            break
    return (found[0] + found[1]) / 2


class YearFigures(Aggregate):
    """What oversight may see about one calendar year."""

    class_version = 3  # v1 snapshots kept every duration in a list; v2 had no counts

    @staticmethod
    def create_id(year: int, **_: Any) -> UUID:
        return figures_id(year)

    @event("FiguresStarted")
    def __init__(self, year: int):
        self.year = year
        self.requests: dict[str, dict[str, int]] = {"received": {}, "sent": {}}
        self.countries: dict[str, dict[str, int]] = {"received": {}, "sent": {}}
        self.durations: dict[str, dict[str, int]] = {kind: {} for kind in DURATIONS}
        self.orders: dict[str, int] = {"issued": 0, "followed_by_mla_in_time": 0,
                                       "expired_without_mla": 0}  # fmt: skip
        self.counts: dict[str, dict[str, int]] = {}

    @event("Counted")
    def count(self, group: str, key: str) -> None:
        counts = self.counts.setdefault(group, {})
        counts[key] = counts.get(key, 0) + 1

    @event("RequestCounted")
    def count_request(self, direction: str, family: str, country: str) -> None:
        side = "received" if direction == "incoming" else "sent"
        self.requests[side][family] = self.requests[side].get(family, 0) + 1
        self.countries[side][country] = self.countries[side].get(country, 0) + 1

    @event("DurationMeasured")
    def measure(self, kind: str, seconds: float) -> None:
        counts = self.durations.setdefault(kind, {})
        key = duration_key(seconds)
        counts[key] = counts.get(key, 0) + 1

    @event("OrderCounted")
    def count_order(self, outcome: str) -> None:
        self.orders[outcome] += 1

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot taken when every duration was listed: count them into buckets."""
        buckets: dict[str, dict[str, int]] = {}
        for kind, values in state["durations"].items():
            counts = buckets.setdefault(kind, {})
            for seconds in values:
                counts[duration_key(seconds)] = counts.get(duration_key(seconds), 0) + 1
        state["durations"] = buckets

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state["counts"] = {}

    def report(self) -> dict[str, Any]:
        def totals(counts: dict[str, int]) -> dict[str, int]:
            families = {name: counts.get(name, 0) for name in ("preservation", "mla", "other")}
            return {**families, "total": sum(families.values())}

        issued = self.orders["issued"]
        followed = self.orders["followed_by_mla_in_time"]
        expired = self.orders["expired_without_mla"]
        closed = followed + expired  # windows still open are neither success nor failure
        counts = {group: dict(sorted(self.counts.get(group, {}).items()))
                  for group in COUNT_GROUPS}  # fmt: skip
        decisions = counts["decisions"]
        return {
            "year": self.year,
            "requests": {side: totals(self.requests[side]) for side in ("received", "sent")},
            "by_country": {
                side: dict(sorted(self.countries[side].items())) for side in ("received", "sent")
            },  # fmt: skip
            "median_seconds": {kind: median_of(self.durations.get(kind, {})) for kind in DURATIONS},
            "preservations": {
                "issued": issued,
                "followed_by_mla_in_time": followed,
                "share_followed_by_mla_in_time": round(followed / closed, 3) if closed else None,
                "expired_without_mla": expired,
                "windows_closed": closed,
            },
            "decisions": {
                "refused": decisions.get("refused", 0),
                "refusal_grounds": counts["refusal_grounds"],
                "art29_6_notices": decisions.get("art29_6_notices", 0),
                "art29_6_reasons": counts["art29_6_reasons"],
                "withdrawn": decisions.get("withdrawn", 0),
            },
            "emergencies": {
                side: counts["emergencies"].get(side, 0) for side in ("received", "sent")
            },  # fmt: skip
            "duplicates": {kind: counts["duplicates"].get(kind, 0) for kind in ("exact", "near")},
            # Identification and emergency disclosure: requests, productions, what left.
            "disclosure": {key: counts["disclosure"].get(key, 0) for key in DISCLOSURE_COUNTS},
            "by_article": {
                side: {
                    art: counts["by_article"].get(f"{side}:{art}", 0) for art in ("art29", "art30")
                }
                for side in ("received", "sent")
            },  # fmt: skip
        }


class MonthFigures(YearFigures):
    """The same figures for one month (``year`` holds ``YYYY-MM``): any period is a sum."""

    @staticmethod
    def create_id(year: Any, **_: Any) -> UUID:
        return month_id(str(year))


def month_id(month: str) -> UUID:
    return uuid5(FIGURES_NAMESPACE, f"month|{month}")


def merged_report(months: list[YearFigures], first: str, last: str) -> dict[str, Any]:
    """One report of several months' figures: counts added, durations' buckets merged."""
    total = YearFigures(year=0)
    for figures in months:
        for side in ("received", "sent"):
            _add(total.requests[side], figures.requests[side])
            _add(total.countries[side], figures.countries[side])
        for kind, counts in figures.durations.items():
            _add(total.durations.setdefault(kind, {}), counts)
        _add(total.orders, figures.orders)
        for group, counts in figures.counts.items():
            _add(total.counts.setdefault(group, {}), counts)
    report = total.report()
    same_year = first[:4] == last[:4]
    return {**report, "year": int(first[:4]) if same_year else None,
            "period": {"from": first, "to": last}}  # fmt: skip


def _add(into: dict[str, int], counts: dict[str, int]) -> None:
    for key, count in counts.items():
        into[key] = into.get(key, 0) + count


def empty_report(year: int) -> dict[str, Any]:
    return YearFigures(year=year).report()


def seconds_between(start: str, end: str) -> float:
    return max(0.0, (parse_iso(end) - parse_iso(start)).total_seconds())
