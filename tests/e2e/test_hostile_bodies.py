"""Malformed and hostile bodies at POST /api/v1/requests: always a 4xx naming the field,
never a 500, never a record."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from slice_driver import preservation_request

Mutation = Callable[[dict[str, Any]], Any]


def setting(path: str, value: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> dict[str, Any]:
        *parents, last = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
        return body

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(body: dict[str, Any]) -> dict[str, Any]:
        for mutation in mutations:
            body = mutation(body)
        return body

    return mutate


def removing(path: str) -> Mutation:
    def mutate(body: dict[str, Any]) -> dict[str, Any]:
        *parents, last = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]
        return body

    return mutate


IP0 = "data.identifiers.0"
HUGE = "x" * 30_000
LOCAL_TIME = setting(f"{IP0}.observed_at", "2026-11-27T22:14:05")
CASES: list[tuple[str, Mutation, str]] = [
    ("direction missing", removing("direction"), "direction"),
    ("direction unknown", setting("direction", "sideways"), "direction"),
    ("type unknown", setting("type", "wiretap"), "type"),
    ("type a number", setting("type", 7), "type"),
    ("urgency unknown", setting("urgency", "asap"), "urgency"),
    ("received_via unknown", setting("received_via", "pigeon"), "received_via"),
    ("authority missing", removing("requesting_authority"), "requesting_authority"),
    ("authority a string", setting("requesting_authority", "FBI"), "requesting_authority"),
    (
        "country lower case",
        setting("requesting_authority.country", "us"),
        "requesting_authority.country",
    ),
    (
        "country three letters",
        setting("requesting_authority.country", "USA"),
        "requesting_authority.country",
    ),
    ("country null", setting("requesting_authority.country", None), "requesting_authority.country"),
    (
        "reference huge",
        setting("requesting_authority.reference", HUGE),
        "requesting_authority.reference",
    ),
    (
        "reference a list",
        setting("requesting_authority.reference", ["a"]),
        "requesting_authority.reference",
    ),
    ("unknown top-level field", setting("shoe_size", 44), "shoe_size"),
    ("unknown nested field", setting("offence.colour", "red"), "offence.colour"),
    ("offence a list", setting("offence", ["fraud"]), "offence"),
    ("summary huge", setting("offence.summary_of_facts", HUGE), "offence.summary_of_facts"),
    ("summary a number", setting("offence.summary_of_facts", 12), "offence.summary_of_facts"),
    ("summary blank", setting("offence.summary_of_facts", "   "), "offence.summary_of_facts"),
    ("data types unknown", setting("data.types", ["dna"]), "data.types.0"),
    ("data types a string", setting("data.types", "traffic"), "data.types"),
    ("identifiers an object", setting("data.identifiers", {"kind": "ip"}), "data.identifiers"),
    ("identifier kind unknown", setting(f"{IP0}.kind", "mac"), f"{IP0}.kind"),
    ("identifier value missing", removing(f"{IP0}.value"), f"{IP0}.value"),
    ("identifier value empty", setting(f"{IP0}.value", ""), f"{IP0}.value"),
    ("ip not an address", setting(f"{IP0}.value", "999.1.1.1"), f"{IP0}.value"),
    ("ip with letters", setting(f"{IP0}.value", "hello"), f"{IP0}.value"),
    ("port negative", setting(f"{IP0}.port", -1), f"{IP0}.port"),
    ("port too large", setting(f"{IP0}.port", 70000), f"{IP0}.port"),
    ("port a string", setting(f"{IP0}.port", "eighty"), f"{IP0}.port"),
    (
        "time without zone anywhere",
        both(LOCAL_TIME, setting("requesting_authority.time_zone", None)),
        f"{IP0}.observed_at",
    ),
    (
        "zone not IANA",
        both(LOCAL_TIME, setting("requesting_authority.time_zone", "Eastern")),
        f"{IP0}.observed_at",
    ),
    (
        "time in the future",
        setting(f"{IP0}.observed_at", "2099-01-01T00:00:00Z"),
        f"{IP0}.observed_at",
    ),
    (
        "impossible date",
        setting(f"{IP0}.observed_at", "2026-02-30T10:00:00Z"),
        f"{IP0}.observed_at",
    ),
    ("hour 25", setting(f"{IP0}.observed_at", "2026-11-27T25:00:00Z"), f"{IP0}.observed_at"),
    ("day-first date", setting(f"{IP0}.observed_at", "27/11/2026 10:14"), f"{IP0}.observed_at"),
    ("time a number", setting(f"{IP0}.observed_at", 1732700000), f"{IP0}.observed_at"),
    ("custodian a string", setting("data.custodian", "telco-a"), "data.custodian"),
    (
        "custodian country bad",
        setting("data.custodian.country", "Romania"),
        "data.custodian.country",
    ),
    ("period negative", setting("data.period_days", -5), "data.period_days"),
    ("period a string", setting("data.period_days", "ninety"), "data.period_days"),
    ("period absurd", setting("data.period_days", 10**9), "data.period_days"),
    ("mla_intended a string", setting("mla_intended", "maybe"), "mla_intended"),
    ("necessity missing", removing("necessity"), "necessity"),
    ("mla_intended missing", removing("mla_intended"), "mla_intended"),
    (  # Art 29(2)(d): neither a custodian nor an identifier that locates the system
        "custodian missing",
        lambda body: removing("data.custodian")(
            setting("data.identifiers", [{"kind": "email", "value": "x@example.org"}])(body)
        ),
        "data.custodian",
    ),
    ("counterpart country bad", setting("counterpart_country", "Narnia"), "counterpart_country"),
    ("nested junk", setting("follow_up", {"a": {"b": {"c": [1, 2, {"d": None}]}}}), "follow_up.a"),
    (
        "too many identifiers",
        setting("data.identifiers", [{"kind": "domain", "value": "a.org"}] * 501),
        "data.identifiers",
    ),
    ("unicode control characters", setting(f"{IP0}.value", "1.2.3.4\u0000"), f"{IP0}.value"),
    ("right-to-left override in ip", setting(f"{IP0}.value", "\u202e4.3.2.1"), f"{IP0}.value"),
    (
        "emoji country",
        setting("requesting_authority.country", "🇺🇸"),
        "requesting_authority.country",
    ),
]


@pytest.mark.parametrize(("mutation", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_body_is_answered_4xx_naming_the_field(embedded, tokens, mutation, field):
    api, _, platform = embedded
    head = platform.apps["intake"].outbox_head()
    body = mutation(copy.deepcopy(preservation_request("HOSTILE-1")))
    status, answer = api.call("POST", "/api/v1/requests", tokens["police"], body)
    assert status == 422, answer
    assert answer["error"] == "validation_failed"
    assert any(path == field or path.startswith(field + ".") for path in answer["fields"]), answer
    assert platform.apps["intake"].outbox_head() == head  # nothing recorded


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"[1, 2]",
        b'"a string"',
        b"null",
        b"\xff\xfe not utf-8",
        b'{"a": 1,}',
        json.dumps({"deep": [[[[[[[[[[[]]]]]]]]]]]}).encode()[:-3],
    ],
    ids=["empty", "unclosed", "array", "string", "null", "bad-utf8", "trailing-comma", "cut"],
)
def test_body_that_is_not_a_json_object_is_a_400(embedded, tokens, raw):
    api, _, _ = embedded
    status, answer = api.call("POST", "/api/v1/requests", tokens["police"], raw=raw)
    assert status == 400 and answer["error"] == "bad_request", answer


def test_a_body_of_megabytes_is_refused_before_it_is_parsed(embedded, tokens):
    api, _, _ = embedded
    status, answer = api.call(
        "POST", "/api/v1/requests", tokens["police"], raw=b'{"a": "' + b"x" * 3_000_000 + b'"}'
    )
    assert status == 413 and answer["error"] == "payload_too_large", answer
