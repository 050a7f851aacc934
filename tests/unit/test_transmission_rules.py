"""What may leave for the requesting Party, as domain rules: conditions stated (Art 28(2)),
an Art 30 report decided once and trimmed to what identifies the other provider."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from cp247.errors import Conflict
from services.preservation.schemas import ConditionsSchema
from services.preservation.transmission import Disclosure, production_disclosure_id

PROSECUTOR = {"username": "pia", "role": "prosecution"}
REPORT = {
    "order_id": "7f8c2f4e-0000-4000-8000-000000000001",
    "case_id": "c-1",
    "provider_id": "telco-a",
    "country": "DE",
    "provider_name": "B GmbH",
    "details": "AS3320; subscriber J. Example at 10.1.2.3",
}
CONDITIONS = {"use_limited_to": "proceedings 41 Js 77/26", "confidential": True,
              "further_transfer": "with_consent"}  # fmt: skip


@pytest.mark.parametrize("missing", ["use_limited_to", "confidential", "further_transfer"])
def test_art28_2_each_condition_must_be_stated(missing: str) -> None:
    with pytest.raises(ValidationError) as raised:
        ConditionsSchema().load({k: v for k, v in CONDITIONS.items() if k != missing})
    assert missing in raised.value.messages
    with pytest.raises(ValidationError):
        ConditionsSchema().load({**CONDITIONS, "further_transfer": "anyone"})
    assert ConditionsSchema().load(CONDITIONS)["handling_code"] is None


def test_art30_a_report_is_pending_until_decided_and_decided_once() -> None:
    pending = Disclosure.of_art30_report("r-1", REPORT, "2026-12-08T01:00:00Z", PROSECUTOR)
    assert pending.status == "pending" and pending.kind == "art30"
    pending.send({}, {"country": "US"}, PROSECUTOR, "2026-12-08T01:05:00Z",
                 content={"path": "via AS3320"})  # fmt: skip
    assert pending.status == "sent"
    # trimmed to what identifies the other provider and the path: who reported it stays home
    assert pending.content == {"country": "DE", "provider_name": "B GmbH", "path": "via AS3320"}
    with pytest.raises(Conflict):
        pending.withhold(["security"], "too late", PROSECUTOR, "2026-12-08T01:06:00Z")
    with pytest.raises(Conflict):
        pending.send({}, {"country": "US"}, PROSECUTOR, "2026-12-08T01:07:00Z")


def test_art30_the_same_report_for_the_same_party_is_one_disclosure() -> None:
    first = Disclosure.of_art30_report("r-1", REPORT, "2026-12-08T01:00:00Z", PROSECUTOR)
    again = Disclosure.of_art30_report("r-1", REPORT, "2026-12-08T02:00:00Z", PROSECUTOR)
    other = Disclosure.of_art30_report("r-2", REPORT, "2026-12-08T01:00:00Z", PROSECUTOR)
    assert first.disclosure_id == again.disclosure_id != other.disclosure_id


def test_a_production_disclosure_is_named_by_its_request_productions_and_conditions() -> None:
    one = production_disclosure_id("r-1", ["p-2", "p-1"], CONDITIONS)
    assert one == production_disclosure_id("r-1", ["p-1", "p-2"], dict(CONDITIONS))
    assert one != production_disclosure_id("r-1", ["p-1"], CONDITIONS)
    looser = {**CONDITIONS, "confidential": False}
    assert one != production_disclosure_id("r-1", ["p-1", "p-2"], looser)
