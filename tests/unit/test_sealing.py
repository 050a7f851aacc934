"""Personal fields sealed under per-case keys: readable while the key lives, erased after."""

from __future__ import annotations

import base64
import os
import string

import pytest
from cryptography.exceptions import InvalidTag

from cp247.casekeys import CaseKeys, key_encryption_key
from cp247.runtime.sealing import ERASED
from events import registry
from services.preservation.app import PreservationApplication
from services.timeline.domain import SUMMARIES

PROSECUTOR = {"username": "pat", "role": "prosecution"}
IP = "198.51.100.77"


@pytest.fixture
def app(tmp_path) -> PreservationApplication:
    # No whole-event cipher here, so the stored bytes show exactly what sealing leaves.
    return PreservationApplication(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.popo",
            "CP247_CASE_KEYS_MASTER": base64.b64encode(os.urandom(32)).decode(),
            "CP247_CASE_KEYS": f"sqlite:{tmp_path / 'case-keys.sqlite'}",
        }
    )


def order_for(app: PreservationApplication, case_id: str) -> dict:
    identifiers = [{"kind": "ip", "value": IP, "port": 4242}]
    return app.create_order(
        case_id, {"provider_id": "telco-a", "identifiers": identifiers}, PROSECUTOR
    )


def stored_states(app: PreservationApplication) -> list[bytes]:
    return [n.state for n in app.recorder.select_notifications(start=1, limit=1000)]


def test_personal_fields_are_stored_sealed_and_read_back_plain(app):
    order = order_for(app, "case-seal-1")
    assert all(IP.encode() not in state for state in stored_states(app))
    assert any(b"__sealed__" in state for state in stored_states(app))
    assert app.get_order(order["order_id"])["identifiers"][0]["value"] == IP


def test_destroyed_key_erases_old_and_new_personal_fields(app):
    vault: CaseKeys = app.mapper.vault
    kept, erased = order_for(app, "case-keep"), order_for(app, "case-gone")
    assert vault.destroy("case-gone", "test") is True
    assert vault.destroy("case-gone", "test") is False  # once
    view = app.get_order(erased["order_id"])
    assert view["identifiers"] == [] and view["status"] == "issued"  # the skeleton stays
    assert app.get_order(kept["order_id"])["identifiers"][0]["value"] == IP
    # Later events of an erased case store nothing personal in the first place.
    app.release_order(erased["order_id"], "withdrawn", PROSECUTOR)
    assert app.get_order(erased["order_id"])["status"] == "released"
    assert vault.shredded("case-gone").because == "test"
    assert vault.shredded("case-keep") is None


def test_a_sealed_value_cannot_be_moved_to_another_case(app):
    order_for(app, "case-a")
    order_for(app, "case-b")
    mapper = app.mapper
    sealed = mapper.fields.seal("case-a", "identifiers", [{"v": IP}])
    assert mapper.fields.open("case-a", "identifiers", sealed) == [{"v": IP}]
    with pytest.raises(InvalidTag):
        mapper.fields.open("case-b", "identifiers", sealed)
    with pytest.raises(InvalidTag):
        mapper.fields.open("case-a", "details", sealed)  # nor to another field


def test_rewrapping_under_a_new_key_keeps_every_case_readable(app, tmp_path):
    order = order_for(app, "case-rotate")
    vault: CaseKeys = app.mapper.vault
    new_key = base64.b64encode(os.urandom(32)).decode()
    assert vault.rewrap(key_encryption_key(new_key)) >= 1
    assert app.get_order(order["order_id"])["identifiers"][0]["value"] == IP
    fresh = CaseKeys(f"sqlite:{tmp_path / 'case-keys.sqlite'}", key_encryption_key(new_key))
    assert fresh.key_for("case-rotate", create=False) == vault.key_for("case-rotate")


def test_no_timeline_summary_quotes_a_personal_field():
    """The timeline keeps its words after erasure, so they must never hold personal data."""
    # The signed document is personal (its PDF names the identifiers); its number, digest and
    # key id are not, and they are what proves later which document the provider received.
    impersonal_parts = {"document[number]", "document[sha256]", "document[key_id]"}
    for event_name, template in SUMMARIES.items():
        named = {f[1] for f in string.Formatter().parse(template) if f[1]} - impersonal_parts
        fields = {name.split("[")[0] for name in named}
        assert not fields & registry.personal_fields(event_name), event_name


def test_erased_values_keep_their_shape():
    from cp247.runtime.sealing import erased_like

    assert erased_like("list") == [] and erased_like("dict") == {}
    assert erased_like("str") == ERASED
    first = erased_like("list")
    first.append(1)
    assert erased_like("list") == []  # no shared mutable placeholder
