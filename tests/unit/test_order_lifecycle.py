"""The preservation order's lifecycle with a controllable clock: extension, release, expiry,
and the Art 29(7) hold while an MLA request is undecided."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from cp247.config import ConfigurationError
from cp247.errors import Conflict, Forbidden, Invalid
from services.preservation.app import PreservationApplication
from services.preservation.domain import LEGAL_BASIS, PreservationOrder
from services.preservation.national_law import PROFILES, national_policy, parse_policy

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
PROSECUTOR = {"username": "pat", "role": "prosecution"}
POLICE = {"username": "poe", "role": "police"}
REPO = Path(__file__).resolve().parents[2]


def issued(period: int = 90) -> PreservationOrder:
    order = PreservationOrder(
        order_id="6f1c3c3e-6a3c-4a38-9b73-0b7a1f4f1e11",
        case_id="case-1",
        request_id=None,
        provider_id="telco-a",
        identifiers=[],
        data_types=["traffic"],
        period_days=period,
        legal_basis=LEGAL_BASIS,
        direction="incoming",
        mla_intended=True,
        actor=PROSECUTOR,
    )
    order.issue(PROSECUTOR, T0)
    return order


def test_order_expires_at_the_end_of_its_period_and_not_before():
    order = issued(60)
    assert not order.expire(T0 + timedelta(days=59, hours=23))
    assert order.expire(T0 + timedelta(days=60))
    assert order.status == "expired"
    assert not order.expire(T0 + timedelta(days=61))  # once


def test_extension_moves_the_expiry_within_the_national_maximum():
    order = issued(90)
    order.extend(30, maximum_total=90, actor=PROSECUTOR)
    order.extend(60, maximum_total=90, actor=PROSECUTOR)
    assert order.status == "extended"
    assert order.expires_at == "2027-05-27T03:00:00.000000Z"  # 90 + 90 days
    with pytest.raises(Invalid):
        order.extend(1, maximum_total=90, actor=PROSECUTOR)
    assert not order.expire(T0 + timedelta(days=179))
    assert order.expire(T0 + timedelta(days=180))


def test_mla_received_holds_the_order_until_it_is_decided():
    order = issued(60)
    assert order.hold_for_mla("mla-1")
    assert not order.hold_for_mla("mla-1")  # the same MLA holds once
    assert not order.expire(T0 + timedelta(days=400))  # Art 29(7)
    assert order.lift_hold("mla-1", "produced")
    assert order.expire(T0 + timedelta(days=400))


def test_released_order_can_be_neither_extended_nor_released_again():
    order = issued()
    with pytest.raises(Invalid):
        order.release("  ", PROSECUTOR)
    order.release("the requesting CP withdrew the request", PROSECUTOR)
    assert order.status == "released"
    with pytest.raises(Conflict):
        order.extend(10, maximum_total=90, actor=PROSECUTOR)
    with pytest.raises(Conflict):
        order.release("again", PROSECUTOR)
    assert not order.expire(T0 + timedelta(days=365))


def test_provider_outcome_is_recorded_once():
    order = issued()
    isp = {"username": "telco-a", "role": "isp"}
    assert order.record_outcome("preserved", {"note": "logs copied", "records": 3}, isp)
    assert not order.record_outcome("unavailable", {"reason": "late"}, isp)
    assert order.status == "preserved" and order.outcome["records"] == 3


@pytest.mark.parametrize(
    ("profile", "role", "extends"),
    [
        ("police-needs-approval", "police", False),
        ("police-needs-approval", "prosecution", True),
        ("cp-orders-directly", "police", True),
    ],
)
def test_who_may_extend_follows_the_national_profile(profile, role, extends):
    app = PreservationApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo", "CP247_POLICY": profile}
    )
    order = app.create_order("case-1", {"provider_id": "telco-a"}, PROSECUTOR)
    actor = {"username": "x", "role": role}
    if extends:
        assert app.extend_order(order["order_id"], 10, actor)["status"] == "extended"
    else:
        with pytest.raises(Forbidden):
            app.extend_order(order["order_id"], 10, actor)


def test_expiry_sweep_uses_the_clock_it_is_given():
    app = PreservationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    order = app.create_order("case-1", {"provider_id": "telco-a", "period_days": 60}, PROSECUTOR)
    issued_at = datetime.fromisoformat(order["issued_at"].replace("Z", "+00:00"))
    assert app.expire_due(issued_at + timedelta(days=59)) == []
    assert app.expire_due(issued_at + timedelta(days=60, seconds=1)) == [order["order_id"]]
    assert app.get_order(order["order_id"])["status"] == "expired"


def test_shipped_policy_files_load_and_match_the_built_in_profiles():
    for file, profile in (
        ("romania-like.yaml", "police-needs-approval"),
        ("norway-like.yaml", "cp-orders-directly"),
    ):
        loaded = national_policy(str(REPO / "infra" / "policy" / file))
        built_in = national_policy(profile)
        assert loaded.may_order_directly == built_in.may_order_directly
        assert loaded.default_period_days >= 60


def test_policy_file_errors_name_every_problem(tmp_path):
    bad = dict(PROFILES["police-needs-approval"])
    bad.update(default_period_days=30, approvers=[], local_time_zone="Atlantis/Capital", extra=1)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigurationError) as raised:
        national_policy(str(path))
    message = str(raised.value)
    for needle in ("extra", "default_period_days", "approvers", "local_time_zone"):
        assert needle in message
    with pytest.raises(ConfigurationError, match="neither a profile"):
        national_policy(str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigurationError):
        parse_policy(["not", "a", "mapping"], "test")


def test_sweeps_do_not_reload_orders_closed_for_good():
    app = PreservationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    orders = [app.create_order("case-1", {"provider_id": "telco-a"}, PROSECUTOR) for _ in range(3)]
    for order in orders[:2]:
        app.release_order(order["order_id"], "withdrawn", PROSECUTOR)
    is_open = lambda o: o.closed is None  # noqa: E731
    first = [o.order_id for o in app.still_open(PreservationOrder, is_open)]
    assert first == [orders[2]["order_id"]]
    loaded = []
    original_get = app.repository.get
    app.repository.get = lambda aggregate_id, **kw: (
        loaded.append(aggregate_id) or original_get(aggregate_id, **kw)
    )
    again = [o.order_id for o in app.still_open(PreservationOrder, is_open)]
    assert again == first and len(loaded) == 1  # the released two are not read again


def _replicas(tmp_path: Path) -> tuple[PreservationApplication, PreservationApplication]:
    """Two applications on one SQLite file: a command and a sweep racing in two processes."""
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(tmp_path / "preservation.sqlite"),
    }
    return PreservationApplication(env=env), PreservationApplication(env=env)


def test_a_command_that_loses_a_race_is_decided_again_on_the_new_state(tmp_path):
    here, there = _replicas(tmp_path)
    order = here.create_order("case-1", {"provider_id": "telco-a"}, PROSECUTOR)
    original_get, raced = here.repository.get, []

    def stale_get(aggregate_id, **kw):
        loaded = original_get(aggregate_id, **kw)
        if not raced:  # after our load, the other replica extends the same order
            raced.append(there.extend_order(order["order_id"], 5, PROSECUTOR))
        return loaded

    here.repository.get = stale_get
    extended = here.extend_order(order["order_id"], 7, PROSECUTOR)
    assert raced and extended["expires_at"] > raced[0]["expires_at"]
    assert [e["days"] for e in there.get_order(order["order_id"])["extensions"]] == [5, 7]


def test_a_command_that_keeps_losing_is_a_conflict_not_a_crash(tmp_path):
    here, there = _replicas(tmp_path)
    order = here.create_order("case-1", {"provider_id": "telco-a"}, PROSECUTOR)
    original_get = here.repository.get

    def always_stale(aggregate_id, **kw):
        loaded = original_get(aggregate_id, **kw)
        there.extend_order(order["order_id"], 1, PROSECUTOR)
        return loaded

    here.repository.get = always_stale
    with pytest.raises(Conflict, match="try again"):
        here.extend_order(order["order_id"], 7, PROSECUTOR)


def test_a_case_s_orders_are_loaded_by_index_not_by_reading_every_case_s(tmp_path: Path):
    app = PreservationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    mine = [app.create_order("case-1", {"provider_id": "telco-a"}, PROSECUTOR) for _ in range(2)]
    for n in range(5):
        app.create_order(f"other-{n}", {"provider_id": "telco-a"}, PROSECUTOR)
    assert [o["order_id"] for o in app.orders_of_case("case-1")] == [o["order_id"] for o in mine]
    loaded = []
    original_get = app.repository.get
    app.repository.get = lambda aggregate_id, **kw: (
        loaded.append(aggregate_id) or original_get(aggregate_id, **kw)
    )
    later = app.create_order("case-1", {"provider_id": "telco-a"}, PROSECUTOR)
    loaded.clear()
    ids = [o["order_id"] for o in app.orders_of_case("case-1")]
    assert ids == [o["order_id"] for o in (*mine, later)]
    assert len(loaded) == 3  # this case's three orders, none of the other cases'
    assert app.orders_of_case("case-unknown") == []


def test_a_sweep_still_finds_an_order_that_reopened_nothing_and_one_closed_since(tmp_path):
    app = PreservationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    orders = [app.create_order("case-1", {"provider_id": "telco-a"}, PROSECUTOR) for _ in range(3)]
    is_open = lambda o: o.closed is None  # noqa: E731
    assert len(list(app.still_open(PreservationOrder, is_open))) == 3
    app.release_order(orders[1]["order_id"], "withdrawn", PROSECUTOR)
    newer = app.create_order("case-2", {"provider_id": "telco-a"}, PROSECUTOR)
    open_now = [o.order_id for o in app.still_open(PreservationOrder, is_open)]
    assert open_now == [orders[0]["order_id"], orders[2]["order_id"], newer["order_id"]]
