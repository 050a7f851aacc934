"""Art 29(2): what a preservation request must specify, reported by letter."""

from __future__ import annotations

from slice_driver import preservation_request

from services.intake.checklist import art29_missing_items


def test_complete_request_misses_nothing():
    assert art29_missing_items(preservation_request("R-1")) == {}


def test_each_missing_item_is_named_by_its_letter_and_field():
    request = preservation_request("R-2", necessity="  ", mla_intended=None)
    request["requesting_authority"] = {"country": "US"}
    request["data"] = {"custodian": None}
    missing = art29_missing_items(request)
    assert sorted(missing) == ["29.2.a", "29.2.c", "29.2.d", "29.2.e", "29.2.f"]
    assert missing["29.2.c"] == ["data.identifiers", "data.relationship_to_offence"]
    assert missing["29.2.d"] == ["data.custodian"]


def test_art29_2_f_mla_not_intended_is_missing_the_mandatory_statement():
    assert art29_missing_items(preservation_request("R-3", mla_intended=False)) == {
        "29.2.f": ["mla_intended"]
    }


def test_art29_2_d_is_met_by_identifiers_that_locate_the_system():
    request = preservation_request("R-5")
    request["data"]["custodian"] = None
    request["data"]["identifiers"] = [{"kind": "domain", "value": "c2.example"}]
    assert "29.2.d" not in art29_missing_items(request)
    request["data"]["identifiers"] = [{"kind": "email", "value": "a@b.example"}]
    assert art29_missing_items(request)["29.2.d"] == ["data.custodian"]


def test_named_person_is_enough_to_identify_the_authority():
    request = preservation_request("R-4")
    request["requesting_authority"] = {"country": "US", "person": "J. Doe"}
    assert "29.2.a" not in art29_missing_items(request)
