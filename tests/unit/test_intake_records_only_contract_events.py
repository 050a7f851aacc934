"""Whatever a client sends, intake either refuses it (Invalid) or records events that pass
the published contract: a contract violation at record time would be a 500."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slice_driver import preservation_request

from cp247.errors import Invalid
from services.intake.app import IntakeApplication

ACTOR = {"username": "poe", "role": "police"}
VALID = {
    "ip": ["198.51.100.7", "8.8.8.8", "::ffff:8.8.8.8", "2001:db8::1", "10.0.0.1"],
    "email": ["Someone@Example.ORG", "a@bücher.example"],
    "domain": ["bücher.example", "Example.ORG."],
    "url": ["https://Bücher.example/path?q=1", "ftp://files.example/x"],
    "phone": ["+40 (21) 555-0100", "0040215550100"],
    "account": ["user_01", "Ünïcode.name"],
}
TIMES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "2026-11-27T22:14:05-05:00",
            "2026-11-27T22:14:05",
            "2026-11-27 10:14:05 PM",
            "2026-11-27 10:14 pm -05:00",
            "2026-03-29T03:30:00",
            "27/11/2026 10:14",
            "2026-02-30T10:00:00Z",
        ]
    ),
    st.text(max_size=30),
)
OPTIONAL = {
    "port": st.one_of(st.none(), st.integers(min_value=-5, max_value=70000)),
    "observed_at": TIMES,
    "service": st.one_of(st.none(), st.text(max_size=10)),
}
WELL_FORMED = st.sampled_from(sorted(VALID)).flatmap(
    lambda kind: st.fixed_dictionaries(
        {"kind": st.just(kind), "value": st.sampled_from(VALID[kind])}, optional=OPTIONAL
    )
)
GARBAGE = st.fixed_dictionaries(
    {"kind": st.sampled_from(sorted(VALID)), "value": st.text(max_size=40)}, optional=OPTIONAL
)
IDENTIFIER = st.one_of(WELL_FORMED, WELL_FORMED, GARBAGE)
ZONES = st.sampled_from([None, "America/New_York", "Europe/Bucharest", "Mars/Base", "UTC"])
TYPES = st.sampled_from(
    ["preservation", "subscriber_identification", "traffic_disclosure", "emergency_disclosure"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    identifiers=st.lists(IDENTIFIER, max_size=3),
    zone=ZONES,
    kind=TYPES,
    urgency=st.sampled_from(["emergency", "urgent", "routine"]),
)
def test_any_request_is_refused_or_recorded_within_the_contract(identifiers, zone, kind, urgency):
    intake = IntakeApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    body = copy.deepcopy(preservation_request("PROP-1"))
    body.update(type=kind, urgency=urgency, emergency={"risk": "imminent harm"})
    body["requesting_authority"]["time_zone"] = zone
    body["data"]["identifiers"] = identifiers
    try:
        result = intake.register_request(body, ACTOR, custodian_listed=True)
    except Invalid as refused:
        assert refused.fields  # always says which field
        return
    assert result["created"]
    assert intake.outbox(1, 100)  # encoded through the contract without a violation
