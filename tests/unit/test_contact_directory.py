"""The directory of foreign 24/7 contact points: listing, CSV import, sender checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from cp247.errors import Conflict, Forbidden, Invalid, NotFound
from cp247.runtime.application import ServiceApplication
from events.contract import ContractViolation, Registry
from events.directory_contracts import CONTRACTS
from services.intake.directory import (
    FIELDS,
    ContactPointDirectory,
    ForeignContactPoint,
    contact_point_uuid,
)

EXAMPLE_CSV = Path(__file__).resolve().parents[2] / "examples" / "contact-points.csv"
HEADER = ",".join(FIELDS)
ENVELOPE_ATTRS = {"originator_id", "originator_version", "timestamp", "originator_topic"}
POE = {"username": "poe", "role": "police"}
PAT = {"username": "pat", "role": "prosecution"}
ADA = {"username": "ada", "role": "admin"}


class DirectoryApp(ContactPointDirectory, ServiceApplication):
    name = "intake"
    # events.registry does not know the directory's contracts yet; they are checked here
    # against a local registry instead (test_every_recorded_event_passes_its_contract).
    publishes = False


@pytest.fixture
def app() -> DirectoryApp:
    return DirectoryApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


@pytest.fixture
def listed(app: DirectoryApp) -> DirectoryApp:
    """The directory with the example CSV imported."""
    app.import_contact_points(EXAMPLE_CSV.read_text(), ADA)
    return app


def ro_police(**overrides: Any) -> dict[str, Any]:
    entry = {
        "country": "ro",
        "kind": "Police",
        "name": "Cybercrime Directorate 24/7 Unit",
        "institutional_email": "cp247@politia.example.ro",
        "personal_emails": ["ana.popescu@politia.example.ro"],
        "phones": ["+40 (21) 555-0100"],
        "office_hours": "24/7",
        "time_zone": "Europe/Bucharest",
        "languages": ["RO", "en"],
        "required_format": "",
        "can_order_preservation": True,
    }
    return {**entry, **overrides}


def recorded(app: DirectoryApp) -> list[Any]:
    notifications = app.recorder.select_notifications(start=1, limit=1000)
    return [app.mapper.to_domain_event(n) for n in notifications]


def csv_of(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def listed_flags(app: DirectoryApp) -> dict[str, bool]:
    return {v["country"]: v["can_order_preservation"] for v in app.contact_points()}


GOOD_ROW = (
    "NO,police,National Cybercrime Centre,cp247@politiet.example.no,,+47 23 55 01 00,24/7,"
    "Europe/Oslo,no;en,signed letterhead with stamp,no"
)


# --- listing ------------------------------------------------------------------------------
def test_listing_normalises_and_uses_the_deterministic_id(app):
    view = app.list_contact_point(ro_police(), POE)
    assert UUID(view["contact_point_id"]) == contact_point_uuid("RO", "police")
    assert (view["country"], view["kind"]) == ("RO", "police")
    assert view["phones"] == ["+40215550100"]
    assert view["languages"] == ["ro", "en"]
    assert view["can_order_preservation"] is True
    assert view.pop("awaiting_confirmation") is False
    assert app.contact_point("RO", "police") == view
    events = recorded(app)
    assert [type(e).__name__ for e in events] == ["ContactPointListed"]
    assert events[0].actor == POE


def test_listing_the_same_entry_again_records_nothing(app):
    first = app.list_contact_point(ro_police(), POE)
    again = app.list_contact_point(ro_police(phones=["+40 21 555 0100"]), PAT)  # compacted: same
    assert again == first
    assert len(recorded(app)) == 1


def test_a_change_records_only_the_changed_fields_and_who_changed_them(app):
    app.list_contact_point(ro_police(), POE)
    view = app.list_contact_point(ro_police(office_hours="Mon-Fri 08:00-16:00"), PAT)
    events = recorded(app)
    assert [type(e).__name__ for e in events] == ["ContactPointListed", "ContactPointUpdated"]
    assert events[1].changes == {"office_hours": "Mon-Fri 08:00-16:00"}
    assert (events[1].country, events[1].kind, events[1].actor) == ("RO", "police", PAT)
    assert view["office_hours"] == "Mon-Fri 08:00-16:00"
    assert view["awaiting_confirmation"] is False and view["pending_change"] is None


def test_new_phones_are_proposed_and_apply_only_when_another_officer_confirms(app):
    app.list_contact_point(ro_police(), POE)
    view = app.list_contact_point(
        ro_police(office_hours="Mon-Fri 08:00-16:00", phones=["+40 21 555 0199"]), PAT
    )
    assert view["awaiting_confirmation"] is True
    assert view["office_hours"] == "Mon-Fri 08:00-16:00"  # not where we write: at once
    assert view["phones"] == ["+40215550100"]
    change = view["pending_change"]
    assert change["changes"] == {"phones": ["+40215550199"]}
    assert change["previous"] == {"phones": ["+40215550100"]}
    assert change["proposed_by"] == PAT
    assert app.contact_point_changes() == [change]
    with pytest.raises(Forbidden):
        app.confirm_contact_point_change(change["change_id"], {"username": "PAT", "role": "admin"})
    decided = app.confirm_contact_point_change(change["change_id"], POE)
    assert decided["status"] == "confirmed" and decided["decided_by"] == POE
    assert app.contact_point("RO", "police")["phones"] == ["+40215550199"]
    assert app.contact_point_changes() == []
    with pytest.raises(Conflict):
        app.reject_contact_point_change(change["change_id"], ADA)
    names = [type(e).__name__ for e in recorded(app)]
    assert names == [
        "ContactPointListed",
        "ContactPointUpdated",
        "ContactPointChangeProposed",
        "ContactPointChangeConfirmed",
    ]


def test_one_proposal_at_a_time_and_the_proposer_may_withdraw_it(app):
    app.list_contact_point(ro_police(), POE)
    change = app.list_contact_point(ro_police(institutional_email="new@politia.example.ro"), POE)
    again = app.list_contact_point(ro_police(institutional_email="new@politia.example.ro"), PAT)
    assert again["pending_change"] == change["pending_change"]  # the same, not a second
    with pytest.raises(Conflict):
        app.list_contact_point(ro_police(institutional_email="other@politia.example.ro"), PAT)
    withdrawn = app.reject_contact_point_change(change["pending_change"]["change_id"], POE)
    assert withdrawn["status"] == "withdrawn"
    assert app.contact_point("RO", "police")["institutional_email"] == "cp247@politia.example.ro"
    with pytest.raises(NotFound):
        app.confirm_contact_point_change("no-such-change", PAT)


def test_identity_is_not_changeable_by_update():
    contact_point = ForeignContactPoint(**{**ro_police(), "country": "RO", "kind": "police"})
    with pytest.raises(ValueError, match="country"):
        contact_point.update(country="BG")
    assert contact_point.update(name=contact_point.name) is False


def test_an_invalid_entry_names_every_problem_and_records_nothing(app):
    bad = ro_police(
        country="Romania",
        kind="embassy",
        institutional_email="cp247 at politia",
        personal_emails=["ok@politia.example.ro", "someone@localhost"],
        phones=["021 555 0100"],
        time_zone="Europe/Bucuresti",
        languages=["en", "eng"],
        colour="blue",
    )
    del bad["can_order_preservation"]
    with pytest.raises(Invalid) as raised:
        app.list_contact_point(bad, POE)
    assert set(raised.value.fields) == {
        "country",
        "kind",
        "institutional_email",
        "personal_emails.1",
        "phones.0",
        "time_zone",
        "languages.1",
        "can_order_preservation",
        "colour",
    }
    assert recorded(app) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "  "), ("can_order_preservation", "yes"), ("phones", "+40215550100")],
)
def test_blank_names_and_wrong_types_are_refused(app, field, value):
    with pytest.raises(Invalid) as raised:
        app.list_contact_point(ro_police(**{field: value}), POE)
    assert list(raised.value.fields) == [field]


def test_unknown_entry_is_not_found(listed):
    with pytest.raises(NotFound):
        listed.contact_point("NO", "prosecution")


def test_contact_points_are_sorted_and_filtered_by_country(listed):
    everything = listed.contact_points()
    assert [(v["country"], v["kind"]) for v in everything] == [
        ("BG", "prosecution"),
        ("NO", "police"),
        ("RO", "police"),
        ("RO", "prosecution"),
        ("US", "hybrid"),
    ]
    assert [v["kind"] for v in listed.contact_points("ro")] == ["police", "prosecution"]
    assert listed.contact_points("FR") == []


# --- CSV import ---------------------------------------------------------------------------
def test_importing_the_example_then_again_counts_what_changed(app):
    text = EXAMPLE_CSV.read_text()
    counts = {"created": 5, "updated": 0, "unchanged": 0, "pending": 0}
    assert app.import_contact_points(text, ADA) == counts
    counts = {"created": 0, "updated": 0, "unchanged": 5, "pending": 0}
    assert app.import_contact_points(text, ADA) == counts
    assert len(recorded(app)) == 5
    changed = text.replace("cp247@politiet.example.no,,", "cp247@politiet.example.no,k@x.no,")
    changed = changed.replace("Cybercrime Prosecution Unit", "Cybercrime Prosecution Office")
    assert changed != text
    counts = {"created": 0, "updated": 1, "unchanged": 3, "pending": 1}
    assert app.import_contact_points(changed, ADA) == counts
    assert app.contact_point("BG", "prosecution")["name"] == "Cybercrime Prosecution Office"
    assert app.contact_point("NO", "police")["personal_emails"] == []  # until confirmed
    (change,) = app.contact_point_changes()
    app.confirm_contact_point_change(change["change_id"], POE)
    assert app.contact_point("NO", "police")["personal_emails"] == ["k@x.no"]
    assert listed_flags(app) == {"US": True, "RO": True, "NO": False, "BG": False}


def test_one_bad_row_imports_nothing_and_rows_are_numbered_as_in_the_file(app):
    text = csv_of(
        GOOD_ROW,
        GOOD_ROW.replace("NO,police", "SE,police").replace("Europe/Oslo", "Europe/Stokholm"),
        "",  # a blank line still counts as a row of the file
        GOOD_ROW.replace("NO,police", "DK,police").removesuffix(",no") + ",maybe",
    )
    with pytest.raises(Invalid) as raised:
        app.import_contact_points(text, ADA)
    assert raised.value.fields == {
        "rows.3.time_zone": ["an IANA time zone, e.g. Europe/Bucharest"],
        "rows.5.can_order_preservation": ["yes/no, true/false or 1/0"],
    }
    assert recorded(app) == []
    assert app.contact_points() == []


def test_a_header_must_name_every_column_and_nothing_else(app):
    header = HEADER.replace("personal_emails", "emails")
    with pytest.raises(Invalid) as raised:
        app.import_contact_points(header + "\n" + GOOD_ROW + "\n", ADA)
    assert raised.value.fields == {
        "rows.1.emails": ["unknown column"],
        "rows.1.personal_emails": ["missing column"],
    }


def test_rows_may_not_repeat_an_entry_or_have_the_wrong_cell_count(app):
    with pytest.raises(Invalid) as raised:
        app.import_contact_points(csv_of(GOOD_ROW, GOOD_ROW + ",extra", GOOD_ROW), ADA)
    assert raised.value.fields == {
        "rows.3": ["12 cells, the header has 11"],
        "rows.4.kind": ["NO police is already on row 2"],
    }
    assert recorded(app) == []


def test_excel_byte_order_mark_and_column_order_do_not_matter(app):
    columns = list(reversed(FIELDS))
    values = dict(zip(FIELDS, GOOD_ROW.split(","), strict=True))
    text = "\ufeff" + ",".join(columns) + "\r\n" + ",".join(values[c] for c in columns) + "\r\n"
    assert app.import_contact_points(text, ADA)["created"] == 1
    assert app.contact_point("NO", "police")["required_format"] == "signed letterhead with stamp"


def test_an_empty_csv_is_refused(app):
    with pytest.raises(Invalid) as raised:
        app.import_contact_points("\n\n", ADA)
    assert list(raised.value.fields) == ["rows.1"]


# --- senders and receipts -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("authority", "warnings"),
    [
        ({"country": "RO", "email": "CP247@Politia.Example.RO"}, []),
        ({"country": "RO", "email": "mihai.ionescu@parchet.example.ro"}, []),
        ({"country": "US", "email": " r.roe@cyberdesk.example.us "}, []),
        ({"country": "RO", "email": "ana.popescu@gmail.example.com"}, ["unknown_sender"]),
        ({"country": "RO", "email": "cp247@cyberdesk.example.us"}, ["unknown_sender"]),
        ({"country": "FR", "email": "cp247@police.example.fr"}, ["unknown_sender"]),
        ({"country": "NO", "email": None}, ["sender_email_missing"]),
        ({"country": "NO"}, ["sender_email_missing"]),
        ({"country": "FR"}, ["unknown_sender"]),
    ],
)
def test_sender_check(listed, authority, warnings):
    assert listed.sender_check(authority) == warnings


def test_sender_check_looks_entries_up_without_scanning(listed, monkeypatch):
    def no_scan(*_: Any, **__: Any) -> Any:
        raise AssertionError("the sender check scanned the directory")

    monkeypatch.setattr(listed, "created", no_scan)
    assert listed.sender_check({"country": "BG", "email": "i.petrov@prokuratura.example.bg"}) == []
    assert listed.acknowledgement_address({"country": "BG"})["kind"] == "prosecution"


def test_receipt_goes_to_the_entry_that_sent_the_request(listed):
    address = listed.acknowledgement_address(
        {"country": "RO", "email": "mihai.ionescu@parchet.example.ro"}
    )
    assert address == {
        "country": "RO",
        "kind": "prosecution",
        "name": "Cybercrime Service of the Prosecutor's Office",
        "email": "cp247@parchet.example.ro",
        "time_zone": "Europe/Bucharest",
        "languages": ["ro", "en", "fr"],
        "required_format": "",
    }


def test_receipt_for_an_unknown_sender_prefers_hybrid_then_police(listed):
    assert listed.acknowledgement_address({"country": "RO", "email": "x@y.example"})["kind"] == (
        "police"
    )
    listed.list_contact_point(
        ro_police(
            country="US",
            name="Police Cyber Desk",
            institutional_email="cyber@pd.example.us",
            personal_emails=[],
            time_zone="America/Chicago",
            languages=["en"],
        ),
        POE,
    )
    assert listed.acknowledgement_address({"country": "US"})["kind"] == "hybrid"
    by_police = listed.acknowledgement_address({"country": "US", "email": "cyber@pd.example.us"})
    assert (by_police["kind"], by_police["time_zone"]) == ("police", "America/Chicago")
    assert listed.acknowledgement_address({"country": "FR", "email": "a@b.example"}) is None


# --- contract -----------------------------------------------------------------------------
def test_every_recorded_event_passes_its_contract(listed):
    listed.list_contact_point(ro_police(languages=["ro"], can_order_preservation=False), POE)
    for confirmed, phone in ((True, "+40 21 555 0111"), (False, "+40 21 555 0122")):
        proposed = listed.list_contact_point(ro_police(phones=[phone]), POE)
        change_id = proposed["pending_change"]["change_id"]
        if confirmed:
            listed.confirm_contact_point_change(change_id, PAT)
        else:
            listed.reject_contact_point_change(change_id, PAT)
    local = Registry(CONTRACTS)
    events = recorded(listed)
    names = {type(e).__name__ for e in events}
    assert (
        names
        == {c.name for c in CONTRACTS}
        == {
            "ContactPointListed",
            "ContactPointUpdated",
            "ContactPointChangeProposed",
            "ContactPointChangeConfirmed",
            "ContactPointChangeRejected",
        }
    )
    for event in events:
        payload = {k: v for k, v in vars(event).items() if k not in ENVELOPE_ATTRS}
        wire = local.encode(
            source="intake",
            notification_id=1,
            event=type(event).__name__,
            originator_id=str(event.originator_id),
            originator_version=event.originator_version,
            recorded_at="2026-01-01T00:00:00.000000Z",
            payload=payload,
        )
        assert wire["payload"] == payload
        assert local.decode(wire).payload == payload


def test_the_contract_refuses_changes_to_identity_fields():
    with pytest.raises(ContractViolation):
        Registry(CONTRACTS).encode(
            source="intake",
            notification_id=1,
            event="ContactPointUpdated",
            originator_id=str(contact_point_uuid("RO", "police")),
            originator_version=2,
            recorded_at="2026-01-01T00:00:00.000000Z",
            payload={"country": "RO", "kind": "police", "changes": {"country": "BG"}},
        )


def test_contract_descriptions_are_sentences():
    for contract in CONTRACTS:
        assert contract.source == "intake" and contract.version == 1
        assert contract.description.endswith(".")
