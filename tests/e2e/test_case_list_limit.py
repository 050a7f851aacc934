"""``GET /api/v1/cases?limit=N``: the newest N cases (after the filters); without it, all."""

from __future__ import annotations

import pytest
from slice_driver import preservation_request


def register(api, token: str, reference: str, **overrides) -> str:
    status, answer = api.call(
        "POST", "/api/v1/requests", token, preservation_request(reference, **overrides)
    )
    assert status == 201, answer
    return answer["case_id"]


def test_limit_gives_the_newest_cases_and_leaving_it_out_gives_all(embedded, tokens):
    api, _, _ = embedded
    ids = [register(api, tokens["police"], f"LIM-{n}") for n in range(4)]
    status, answer = api.call("GET", "/api/v1/cases?limit=2", tokens["prosecution"])
    assert status == 200
    assert [c["case_id"] for c in answer["cases"]] == [ids[3], ids[2]]
    status, answer = api.call("GET", "/api/v1/cases", tokens["police"])
    assert status == 200
    assert [c["case_id"] for c in answer["cases"]] == ids[::-1]
    # A case recorded after the list was read shows at the top of the next read.
    newest = register(api, tokens["police"], "LIM-4")
    _, answer = api.call("GET", "/api/v1/cases?limit=1", tokens["police"])
    assert [c["case_id"] for c in answer["cases"]] == [newest]


def test_limit_counts_the_cases_that_pass_the_filters(embedded, tokens):
    api, _, _ = embedded
    outgoing = {"direction": "outgoing", "counterpart_country": "DE"}
    first = register(api, tokens["police"], "LIM-DE-1", **outgoing)
    register(api, tokens["police"], "LIM-US-1")
    second = register(api, tokens["police"], "LIM-DE-2", **outgoing)
    status, answer = api.call("GET", "/api/v1/cases?country=DE&limit=5", tokens["police"])
    assert status == 200
    assert [c["case_id"] for c in answer["cases"]] == [second, first]


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "2.5", "+5", "%205", ""])
def test_a_limit_outside_1_to_1000_is_a_422_naming_it(embedded, tokens, limit):
    api, _, _ = embedded
    status, answer = api.call("GET", f"/api/v1/cases?limit={limit}", tokens["police"])
    assert status == 422
    assert answer["error"] == "validation_failed"
    assert "limit" in answer["fields"]


def test_the_limit_parameter_is_declared_in_the_openapi_document(embedded):
    api, _, _ = embedded
    _, document = api.call("GET", "/api/v1/openapi.json")
    parameters = document["paths"]["/api/v1/cases"]["get"]["parameters"]
    (limit,) = [p for p in parameters if p["name"] == "limit"]
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    assert not limit["required"]
