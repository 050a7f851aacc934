"""The read index behind the case list and the ISP inbox: built once from the notification
log, then kept current by reading only what was recorded since the last query."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from slice_driver import preservation_request

from cp247.errors import Invalid
from cp247.runtime.read_index import ReadIndex, event_topics
from services.intake.app import IntakeApplication
from services.intake.domain import Case
from services.isp_liaison.app import IspLiaisonApplication
from services.isp_liaison.domain import ProviderOrder

POLICE = {"username": "poe", "role": "police"}
ISP = {"username": "telco-a", "role": "isp"}


def sqlite_env(tmp_path: Path, name: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(tmp_path / f"{name}.sqlite"),
        "SQLITE_LOCK_TIMEOUT": "10",
        "CP247_SIGNING_KEY": str(tmp_path / "sign.pem"),
    }


def register(intake: IntakeApplication, reference: str, country: str = "US") -> str:
    body = preservation_request(reference)
    body["requesting_authority"]["country"] = body["counterpart_country"] = country
    # Distinct identifiers per request, so that none is a near duplicate of another.
    body["data"]["identifiers"] = [{"kind": "email", "value": f"{reference.lower()}@example.org"}]
    return intake.register_request(body, POLICE)["case_id"]


@pytest.fixture
def intake(tmp_path: Path) -> IntakeApplication:
    return IntakeApplication(env=sqlite_env(tmp_path, "intake"))


def test_topics_are_those_of_the_aggregate_class_events_without_snapshots() -> None:
    topics = event_topics(Case)
    assert "services.intake.domain:Case.CaseOpened" in topics
    assert "services.intake.domain:Case.CaseLeadAssigned" in topics
    assert not [t for t in topics if "Snapshot" in t or "Request." in t]


def test_case_list_is_newest_first_and_limited(intake: IntakeApplication) -> None:
    ids = [register(intake, f"ORD-{n}") for n in range(5)]
    assert [c["case_id"] for c in intake.list_cases()] == ids[::-1]
    assert [c["case_id"] for c in intake.list_cases({"limit": "2"})] == ids[:2:-1]
    assert [c["case_id"] for c in intake.list_cases({"limit": 10})] == ids[::-1]


def test_limit_applies_after_the_filters(intake: IntakeApplication) -> None:
    us = [register(intake, f"US-{n}", "US") for n in range(3)]
    register(intake, "DE-1", "DE")
    listed = intake.list_cases({"country": "US", "limit": "2"})
    assert [c["case_id"] for c in listed] == [us[2], us[1]]


@pytest.mark.parametrize("limit", ["0", "-1", "many", 0, True, "2.5"])
def test_a_limit_that_is_not_a_positive_whole_number_is_refused(intake, limit: Any) -> None:
    with pytest.raises(Invalid) as refused:
        intake.list_cases({"limit": limit})
    assert "limit" in refused.value.body()["fields"]


def test_cases_registered_after_the_first_query_are_listed(intake: IntakeApplication) -> None:
    first = register(intake, "ORD-1")
    assert [c["case_id"] for c in intake.list_cases()] == [first]
    second = register(intake, "ORD-2")
    assert [c["case_id"] for c in intake.list_cases()] == [second, first]


def test_a_change_to_a_listed_case_shows_in_its_summary(intake: IntakeApplication) -> None:
    case_id = register(intake, "ORD-1")
    register(intake, "ORD-2")
    assert intake.list_cases({"limit": "2"})[1]["lead"] is None
    intake.assign_lead(case_id, "prosecution", POLICE)
    listed = intake.list_cases()
    assert [c["case_id"] for c in listed][1] == case_id  # still in creation order
    assert listed[1]["lead"] == "prosecution"
    assert intake.list_cases({"lead": "prosecution"})[0]["case_id"] == case_id


def test_the_summary_is_the_same_as_from_the_case_itself(intake: IntakeApplication) -> None:
    case_id = register(intake, "ORD-1")
    intake.assign_lead(case_id, "police", POLICE)
    summary = intake.list_cases()[0]
    references = summary.pop("references")  # joined from the requests' own index
    assert summary == intake._case_summary(intake.repository.get(Case.create_id(case_id)))
    assert [r["their_reference"] for r in references] == ["ORD-1"]


def test_a_caller_changing_a_listed_case_does_not_change_the_index(intake) -> None:
    register(intake, "ORD-1")
    listed = intake.list_cases()[0]
    listed["request_ids"].append("nonsense")
    listed["opened_by"]["username"] = "mallory"
    again = intake.list_cases()[0]
    assert "nonsense" not in again["request_ids"] and again["opened_by"] == POLICE


def test_a_query_reads_only_the_notifications_recorded_since_the_last(intake, monkeypatch):
    register(intake, "ORD-1")
    intake.list_cases()
    seen = intake.recorder.max_notification_id()
    starts: list[int] = []
    select = intake.recorder.select_notifications

    def spy(*args: Any, **kwargs: Any) -> Any:
        starts.append(kwargs["start"])
        return select(*args, **kwargs)

    monkeypatch.setattr(intake.recorder, "select_notifications", spy)
    intake.list_cases()
    assert starts == []  # nothing new: not even a read of the log
    register(intake, "ORD-2")
    assert len(intake.list_cases()) == 2
    assert starts == [seen + 1, seen + 1]  # the cases' index and their requests', once each


def test_the_first_build_folds_the_log_without_loading_each_case(intake, monkeypatch):
    for n in range(4):
        register(intake, f"ORD-{n}")
    fresh = ReadIndex(intake, Case, intake._case_summary)
    loads: list[Any] = []
    get = intake.repository.get
    monkeypatch.setattr(intake.repository, "get", lambda *a, **k: loads.append(a) or get(*a, **k))
    assert len(fresh) == 4
    assert loads == []


def test_a_replica_on_the_same_store_lists_what_the_other_recorded(tmp_path: Path) -> None:
    one = IntakeApplication(env=sqlite_env(tmp_path, "intake"))
    two = IntakeApplication(env=sqlite_env(tmp_path, "intake"))
    first = register(one, "ORD-1")
    assert [c["case_id"] for c in two.list_cases()] == [first]
    second = register(one, "ORD-2")
    one.assign_lead(first, "police", POLICE)
    listed = two.list_cases()
    assert [c["case_id"] for c in listed] == [second, first]
    assert listed[1]["lead"] == "police"


# --- the ISP inbox ------------------------------------------------------------------------
def deliver(isp: IspLiaisonApplication, provider_id: str) -> str:
    order_id = str(uuid4())
    isp.save(
        ProviderOrder(
            order_id=order_id,
            case_id=str(uuid4()),
            request_id=None,
            provider_id=provider_id,
            identifiers=[{"kind": "ip", "value": "203.0.113.7"}],
            data_types=["traffic"],
            legal_basis="Art 29",
            issued_at="2026-11-28T10:00:00Z",
            expires_at="2027-02-26T10:00:00Z",
            channel="api",
            document={"number": "X"},
        )
    )
    return order_id


def test_inbox_lists_own_orders_oldest_first_and_follows_their_status(tmp_path: Path) -> None:
    isp = IspLiaisonApplication(env=sqlite_env(tmp_path, "isp_liaison"))
    first = deliver(isp, "telco-a")
    deliver(isp, "telco-b")
    assert [o["order_id"] for o in isp.list_orders("telco-a")] == [first]
    second = deliver(isp, "telco-a")
    assert [o["order_id"] for o in isp.list_orders("telco-a")] == [first, second]
    isp.acknowledge("telco-a", first, ISP)
    assert [o["order_id"] for o in isp.list_orders("telco-a", "acknowledged")] == [first]
    assert [o["order_id"] for o in isp.list_orders("telco-a", "issued")] == [second]
    # The index keeps no identifiers: those come from the order, loaded per request.
    assert set(isp.inbox_index.select()[0]._fields) == {"order_id", "provider_id", "status"}
    assert isp.list_orders("telco-a")[0]["identifiers"] == [{"kind": "ip", "value": "203.0.113.7"}]


def test_a_grouped_index_lists_one_group_oldest_first(intake: IntakeApplication) -> None:
    us = [register(intake, f"US-{n}", "US") for n in range(2)]
    de = register(intake, "DE-1", "DE")
    by_country = ReadIndex(
        intake, Case, intake._case_summary, group=lambda summary: summary["country"]
    )
    assert [c["case_id"] for c in by_country.in_group("US")] == us
    later = register(intake, "US-9", "US")
    assert [c["case_id"] for c in by_country.in_group("US")] == [*us, later]
    assert [c["case_id"] for c in by_country.in_group("DE")] == [de]
    assert by_country.in_group("FR") == []
    with pytest.raises(TypeError):
        ReadIndex(intake, Case, intake._case_summary).in_group("US")
