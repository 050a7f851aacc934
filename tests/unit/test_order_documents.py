"""The formal documents: the preservation order PDF, its detached Ed25519 signature, the
letterhead file and the signed-letter form of an outgoing preservation request."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pypdf import PdfReader

from cp247.config import ConfigurationError
from cp247.documents import (
    CHECKLIST_HEADINGS,
    Letterhead,
    Signature,
    Signer,
    order_number,
    render_outgoing_request,
    render_preservation_order,
    render_signed_order,
    signature_path_for,
    verify_document,
    verify_files,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_LETTERHEAD = REPO / "infra" / "letterhead.example.yaml"
SIGNED_AT = datetime(2026, 11, 28, 3, 0, 5, tzinfo=UTC)

ORDER: dict[str, Any] = {
    "order_id": "1a2b3c4d-5e6f-5a7b-8c9d-0e1f2a3b4c5d",
    "case_id": "case-77",
    "provider_id": "telco-a",
    "status": "issued",
    "identifiers": [
        {
            "kind": "ip",
            "value": "203.0.113.7",
            "port": 51234,
            "observed_at": "2026-11-28T03:14:05.000000Z",
            "observed_at_text": "2026-11-27T22:14:05-05:00",
        },
        {"kind": "email", "value": "someone@mail.example", "port": None, "observed_at": None},
    ],
    "data_types": ["traffic", "subscriber"],
    "issued_at": "2026-11-28T03:00:00.000000Z",
    "expires_at": "2027-02-26T03:00:00.000000Z",
    "legal_basis": "Budapest Convention Art 29 (expedited preservation of stored computer data)",
    "period_days": 90,
}

REQUEST: dict[str, Any] = {
    "direction": "outgoing",
    "type": "preservation",
    "urgency": "urgent",
    "received_via": "portal",
    "requesting_authority": {
        "country": "RO",
        "contact_point": "Romanian 24/7 CP (police)",
        "person": "Ana Popescu",
        "city": "Exampleville",
        "phone": "+40 21 000 0000",
        "email": "cp247@cybercrime.example",
        "reference": "RO-2026-0042",
        "date": "2026-11-28",
        "time_zone": "Europe/Bucharest",
    },
    "responsible_authority": {
        "name": "Prosecutor's Office Exampleville",
        "contact": "prosecutor on duty",
        "case_number": "123/P/2026",
    },
    "offence": {
        "description": "Ransomware attack on a hospital",
        "provisions": "Art 360 and 364 Criminal Code",
        "max_penalty": "7 years imprisonment",
        "summary_of_facts": "Servers of a hospital were encrypted and a ransom demanded.",
        "related_requests": ["US-PRES-2026-17"],
    },
    "data": {
        "types": ["subscriber", "traffic"],
        "relationship_to_offence": "Address used to negotiate the ransom",
        "identifiers": [
            {
                "kind": "ip",
                "value": "198.51.100.23",
                "port": 44321,
                "observed_at": "2026-11-27T22:14:05-05:00",
                "service": "webmail",
            }
        ],
        "custodian": {"provider_id": "mailco", "name": "MailCo Inc.", "country": "US"},
        "period_days": 90,
    },
    "necessity": "The provider deletes connection logs after 30 days.",
    "mla_intended": True,
    "follow_up": {"partial_disclosure_requested": True, "feedback_requested": False},
    "counterpart_country": "US",
}


def text_of(pdf: bytes) -> str:
    """The PDF's text with all whitespace runs collapsed, so line wrapping does not matter."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    return Signer.load_or_create(tmp_path_factory.mktemp("keys") / "documents.pem")


@pytest.fixture(scope="module")
def other_signer(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    return Signer.load_or_create(tmp_path_factory.mktemp("other") / "documents.pem")


# --- the order PDF ---------------------------------------------------------------------------


def test_an_order_to_disclose_states_its_due_by_not_a_period():
    order = {**ORDER, "kind": "disclosure", "expires_at": None, "due_by": "2024-05-23T14:05:00Z"}
    text = text_of(render_preservation_order(order, Letterhead.default(), "Europe/Bucharest"))
    assert "ORDER TO DISCLOSE DATA" in text and "PRESERVATION ORDER" not in text
    assert "Disclose by 2024-05-23 14:05:00 UTC" in text
    assert "Preserve until" not in text and "Data to disclose" in text
    assert order_number(order).startswith("DO-") and order_number(order) in text


def test_each_order_says_how_to_answer_it_and_an_emergency_says_so_first():
    disclosure = {**ORDER, "kind": "disclosure", "expires_at": None,
                  "due_by": "2024-05-23T14:05:00Z"}  # fmt: skip
    text = " ".join(text_of(render_preservation_order(disclosure, Letterhead.default())).split())
    assert "How to answer" in text and "upload the data as files" in text
    assert "EMERGENCY" not in text
    urgent = " ".join(
        text_of(
            render_preservation_order({**disclosure, "emergency": True}, Letterhead.default())
        ).split()  # fmt: skip
    )
    assert "EMERGENCY - ORDER TO DISCLOSE DATA" in urgent and "Art 9" in urgent
    preserve = " ".join(text_of(render_preservation_order(ORDER, Letterhead.default())).split())
    assert "How to answer" in preserve and "report that the data are preserved" in preserve


def test_the_order_names_the_prosecutor_who_issued_it():
    approved = {**ORDER, "issued_by": {"username": "pat", "role": "prosecution"}}
    text = " ".join(text_of(render_preservation_order(approved, Letterhead.default())).split())
    assert "Ordered by pat, prosecutor of the 24/7 point of contact" in text
    assert "Ordered by" not in text_of(render_preservation_order(ORDER, Letterhead.default()))


def test_order_pdf_carries_number_basis_provider_times_and_identifiers():
    text = text_of(render_preservation_order(ORDER, Letterhead.default(), "Europe/Bucharest"))

    assert "PRESERVATION ORDER" in text
    assert "PO-2026-1A2B3C4D" in text
    assert ORDER["order_id"] in text
    assert "case-77" in text
    assert ORDER["legal_basis"] in text
    assert "Addressed to telco-a" in text
    # issued and preserve-until, each in UTC and in Bucharest time (EET, UTC+2 in winter)
    assert "2026-11-28 03:00:00 UTC" in text
    assert "2026-11-28 05:00:00 EET (UTC+02:00, Europe/Bucharest)" in text
    assert "2027-02-26 03:00:00 UTC" in text
    assert "2027-02-26 05:00:00 EET (UTC+02:00, Europe/Bucharest)" in text
    assert "90 days" in text
    assert "traffic, subscriber" in text
    # identifiers: value, port, observed time in UTC, local and as the requester wrote it
    assert "203.0.113.7" in text and "51234" in text
    assert "UTC: 2026-11-28 03:14:05 UTC" in text
    assert "Local: 2026-11-28 05:14:05 EET (UTC+02:00)" in text
    assert "As written: 2026-11-27T22:14:05-05:00" in text
    assert "someone@mail.example" in text
    # contact, confidentiality and signatory
    assert "+00 000 000 000" in text and "cp247@authority.example" in text
    assert "shall not inform the subscriber" in text
    assert "Duty officer" in text


def test_local_time_follows_the_zone_and_its_summer_time():
    summer = {**ORDER, "issued_at": "2026-07-01T10:00:00Z", "expires_at": "2026-09-29T10:00:00Z"}
    bucharest = text_of(render_preservation_order(summer, Letterhead.default(), "Europe/Bucharest"))
    new_york = text_of(render_preservation_order(summer, Letterhead.default(), "America/New_York"))

    assert "2026-07-01 13:00:00 EEST (UTC+03:00, Europe/Bucharest)" in bucharest
    assert "2026-07-01 06:00:00 EDT (UTC-04:00, America/New_York)" in new_york
    assert "2026-07-01 10:00:00 UTC" in bucharest and "2026-07-01 10:00:00 UTC" in new_york


def test_local_zone_defaults_to_the_letterhead_zone_then_utc():
    letterhead = Letterhead.load(EXAMPLE_LETTERHEAD)
    assert "05:00:00 EET (UTC+02:00, Europe/Bucharest)" in text_of(
        render_preservation_order(ORDER, letterhead, None)
    )
    assert "2026-11-28 03:00:00 UTC (UTC+00:00, UTC)" in text_of(
        render_preservation_order(ORDER, Letterhead.default(), None)
    )


def test_period_is_computed_from_the_dates_when_absent():
    order = {key: value for key, value in ORDER.items() if key != "period_days"}
    order["expires_at"] = "2027-01-27T03:00:00.000000Z"  # 60 days after issue
    assert "Period 60 days" in text_of(render_preservation_order(order, Letterhead.default()))


def test_letterhead_from_the_file_appears_on_the_order():
    text = text_of(render_preservation_order(ORDER, Letterhead.load(EXAMPLE_LETTERHEAD)))
    assert "Directorate for Combating Cybercrime" in text
    assert "+40 21 000 0000" in text and "cp247@cybercrime.example" in text
    assert "Chief Inspector A. Example" in text
    assert "Default letterhead" not in text


def test_same_order_renders_the_same_bytes_whatever_its_later_status():
    first = render_preservation_order(ORDER, Letterhead.default(), "Europe/Bucharest")
    again = render_preservation_order(
        copy.deepcopy(ORDER), Letterhead.default(), "Europe/Bucharest"
    )
    acknowledged = render_preservation_order(
        {**ORDER, "status": "acknowledged"}, Letterhead.default(), "Europe/Bucharest"
    )
    assert first == again == acknowledged

    changed = copy.deepcopy(ORDER)
    changed["identifiers"][0]["port"] = 51235
    assert render_preservation_order(changed, Letterhead.default(), "Europe/Bucharest") != first


def test_pdf_creation_date_is_the_issue_time_not_the_wall_clock():
    reader = PdfReader(io.BytesIO(render_preservation_order(ORDER, Letterhead.default())))
    assert reader.metadata.creation_date.astimezone(UTC) == datetime(2026, 11, 28, 3, tzinfo=UTC)


def test_unicode_prose_is_transliterated_and_identifiers_are_escaped_not_altered():
    letterhead = dataclasses.replace(
        Letterhead.default(),
        authority_name="Direcția de Investigare \u201cCyber\u201d \u2014 București",
        unit="Служба 24/7",
    )
    order = copy.deepcopy(ORDER)
    order["identifiers"] = [{"kind": "account", "value": "jo\u0142e.{nb}", "observed_at": None}]
    text = text_of(render_preservation_order(order, letterhead))

    assert 'Directia de Investigare "Cyber" - Bucuresti' in text
    assert "?????? 24/7" in text  # no Cyrillic in the core font; replaced, not crashing
    # a different letter would be a different account: shown exactly, and fpdf2's page-count
    # alias is not substituted inside a requester's value
    assert "jo<U+0142>e.{nb}" in text


def test_order_number_is_short_and_marks_drafts():
    assert order_number(ORDER) == "PO-2026-1A2B3C4D"
    assert order_number({**ORDER, "issued_at": None}) == "PO-DRAFT-1A2B3C4D"
    draft = {**ORDER, "issued_at": None, "expires_at": None, "period_days": 90}
    text = text_of(render_preservation_order(draft, Letterhead.default()))
    assert "DRAFT, NOT ISSUED" in text and "Not yet issued." in text


def test_bad_zone_and_bad_times_are_refused():
    with pytest.raises(ConfigurationError, match="Mars/Olympus"):
        render_preservation_order(ORDER, Letterhead.default(), "Mars/Olympus")
    with pytest.raises(ValueError, match="issued_at"):
        render_preservation_order({**ORDER, "issued_at": "28/11/2026"}, Letterhead.default())
    with pytest.raises(ValueError, match="expires_at"):
        render_preservation_order({**ORDER, "expires_at": "2027-02-26T03:00"}, Letterhead.default())


# --- signing and verification ----------------------------------------------------------------


def test_signed_order_verifies_against_its_trusted_key(signer: Signer):
    signed = render_signed_order(ORDER, Letterhead.default(), signer, signed_at=SIGNED_AT)
    body = json.loads(signed.signature.to_json())

    assert set(body) == {
        "algorithm",
        "key_id",
        "sha256",
        "signature",
        "public_key_pem",
        "signed_at",
    }
    assert body["algorithm"] == "Ed25519"
    assert body["sha256"] == hashlib.sha256(signed.pdf).hexdigest() == signed.signature.sha256
    assert body["signed_at"] == "2026-11-28T03:00:05Z"

    result = verify_document(signed.pdf, signed.signature.to_json(), [signer.public_key_pem()])
    assert result.ok, result.reason
    assert result.key_id == signer.key_id
    assert result.sha256 == signed.signature.sha256
    # without a trust list integrity is checked, and the result says authorship was not
    untrusted = verify_document(signed.pdf, signed.signature.to_json())
    assert untrusted.ok and "not checked" in untrusted.reason


def test_verification_fails_on_one_changed_byte(signer: Signer):
    signed = render_signed_order(ORDER, Letterhead.default(), signer, signed_at=SIGNED_AT)
    position = len(signed.pdf) // 2
    altered = bytearray(signed.pdf)
    altered[position] ^= 0x01
    result = verify_document(bytes(altered), signed.signature.to_json(), [signer.public_key_pem()])
    assert not result.ok
    assert "digest does not match" in result.reason


def test_verification_fails_for_a_key_that_is_not_trusted(signer: Signer, other_signer: Signer):
    signed = render_signed_order(ORDER, Letterhead.default(), other_signer, signed_at=SIGNED_AT)
    result = verify_document(signed.pdf, signed.signature.to_json(), [signer.public_key_pem()])
    assert not result.ok
    assert "not among the trusted keys" in result.reason
    assert result.key_id == other_signer.key_id


def test_verification_fails_when_the_signature_is_by_another_key(
    signer: Signer, other_signer: Signer
):
    """Someone swaps in our public key but keeps their own signature value."""
    pdf = render_preservation_order(ORDER, Letterhead.default())
    forged = json.loads(other_signer.sign(pdf, SIGNED_AT).to_json())
    forged["public_key_pem"] = signer.public_key_pem()
    forged["key_id"] = signer.key_id
    result = verify_document(pdf, json.dumps(forged), [signer.public_key_pem()])
    assert not result.ok
    assert "does not verify" in result.reason

    forged["key_id"] = other_signer.key_id  # a key id that does not belong to the key
    assert "does not belong" in verify_document(pdf, json.dumps(forged)).reason


def test_verification_fails_on_a_tampered_digest(signer: Signer):
    pdf = render_preservation_order(ORDER, Letterhead.default())
    body = json.loads(signer.sign(pdf, SIGNED_AT).to_json())

    body["sha256"] = "0" * 64
    assert "digest does not match" in verify_document(pdf, json.dumps(body)).reason

    # a changed document with a digest to match still fails: the signature covers the bytes
    other = render_preservation_order({**ORDER, "case_id": "case-78"}, Letterhead.default())
    body["sha256"] = hashlib.sha256(other).hexdigest()
    result = verify_document(other, json.dumps(body), [signer.public_key_pem()])
    assert not result.ok
    assert "does not verify" in result.reason


@pytest.mark.parametrize(
    ("signature_file", "reason"),
    [
        ("not json", "not JSON"),
        ("[]", "JSON object"),
        ('{"algorithm": "Ed25519"}', "lacks text field"),
    ],
)
def test_a_malformed_signature_file_is_a_failed_result_not_an_exception(signature_file, reason):
    result = verify_document(b"%PDF-1.4", signature_file)
    assert not result.ok
    assert reason in result.reason


def test_signature_json_round_trips(signer: Signer):
    signature = signer.sign(b"document", SIGNED_AT)
    assert Signature.from_json(signature.to_json()) == signature


def test_key_is_created_once_with_mode_0600_and_reloaded(tmp_path: Path):
    path = tmp_path / "keys" / "documents.pem"
    created = Signer.load_or_create(path)

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert Signer.load_or_create(path).key_id == created.key_id
    assert Signer.from_file(path).public_key_pem() == created.public_key_pem()
    raw = serialization.load_pem_public_key(created.public_key_pem().encode()).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert created.key_id == hashlib.sha256(raw).hexdigest()[:16]
    with pytest.raises(FileExistsError):
        Signer.generate(path)  # never replaces the key earlier signatures depend on
    assert [p.name for p in path.parent.iterdir()] == ["documents.pem"]  # no temporary left


def test_unusable_key_files_are_configuration_errors(tmp_path: Path):
    ec_key = tmp_path / "ec.pem"
    ec_key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello")

    with pytest.raises(ConfigurationError, match="Ed25519"):
        Signer.from_file(ec_key)
    with pytest.raises(ConfigurationError, match="not a PEM private key"):
        Signer.from_file(garbage)
    with pytest.raises(ConfigurationError, match="not found"):
        Signer.from_file(tmp_path / "missing.pem")


def test_verify_files_finds_the_sig_file_next_to_the_document(
    tmp_path: Path, signer: Signer, other_signer: Signer
):
    signed = render_signed_order(ORDER, Letterhead.default(), signer, signed_at=SIGNED_AT)
    document = tmp_path / "order.pdf"
    document.write_bytes(signed.pdf)
    signature_path_for(document).write_text(signed.signature.to_json())
    trusted = tmp_path / "trusted.pem"
    trusted.write_text(other_signer.public_key_pem() + signer.public_key_pem())
    only_other = tmp_path / "other.pem"
    only_other.write_text(other_signer.public_key_pem())

    assert signature_path_for(document).name == "order.pdf.sig"
    assert verify_files(document, trusted_keys_path=trusted).ok
    assert not verify_files(document, trusted_keys_path=only_other).ok
    missing = verify_files(tmp_path / "nothing.pdf")
    assert not missing.ok and "cannot read" in missing.reason


# --- the letterhead file ---------------------------------------------------------------------


def test_example_letterhead_loads_and_no_path_gives_the_default():
    letterhead = Letterhead.load(EXAMPLE_LETTERHEAD)
    assert letterhead.country == "RO"
    assert letterhead.time_zone == "Europe/Bucharest"
    assert len(letterhead.address_lines) == 2
    assert Letterhead.load(None) == Letterhead.default()
    assert "CP247_LETTERHEAD" in Letterhead.default().footer


VALID_YAML = EXAMPLE_LETTERHEAD.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            VALID_YAML.replace('country: "RO"', "country: NO"),
            "'country' must be text, got the boolean",
        ),
        (VALID_YAML.replace('country: "RO"', 'country: "Romania"'), "ISO 3166"),
        (VALID_YAML.replace('phone: "+40 21 000 0000"', "phone: 0210000000"), "field 'phone'"),
        (VALID_YAML.replace('email: "cp247@cybercrime.example"', "email: cp247"), "'email'"),
        (VALID_YAML.replace('time_zone: "Europe/Bucharest"', "time_zone: CET+1"), "IANA"),
        (VALID_YAML.replace('time_zone: "Europe/Bucharest"', 'time_zone: ""'), "'time_zone'"),
        (VALID_YAML.replace("signatory_name:", "signatory:"), "unknown field 'signatory'"),
        (VALID_YAML.replace('unit: "National', 'unit_x: "National'), "unknown field 'unit_x'"),
        (
            "\n".join(line for line in VALID_YAML.splitlines() if not line.startswith("unit:")),
            "field 'unit' is required",
        ),
        (VALID_YAML.replace('authority_name: "Ministry', 'authority_name: "  "\n#'), "empty"),
        ("authority_name: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
    ],
)
def test_letterhead_errors_name_the_field_and_the_problem(
    tmp_path: Path, yaml_text: str, message: str
):
    path = tmp_path / "letterhead.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message) as caught:
        Letterhead.load(path)
    assert str(path) in str(caught.value)


def test_address_lines_must_be_a_list(tmp_path: Path):
    path = tmp_path / "letterhead.yaml"
    text = VALID_YAML.replace(
        'address_lines:\n  - "12 Example Boulevard, Sector 0"\n  - "000000 Exampleville"',
        'address_lines: "12 Example Boulevard"',
    )
    assert text != VALID_YAML
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match="'address_lines' must be a list"):
        Letterhead.load(path)


def test_missing_letterhead_file_is_named(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="not found"):
        Letterhead.load(tmp_path / "nope.yaml")


# --- the outgoing request letter -------------------------------------------------------------


def test_outgoing_request_follows_the_checklist_order_with_utc_and_local_times():
    text = text_of(render_outgoing_request(REQUEST, Letterhead.load(EXAMPLE_LETTERHEAD)))

    positions = [text.find(heading) for heading in CHECKLIST_HEADINGS]
    assert -1 not in positions, [
        h for h, p in zip(CHECKLIST_HEADINGS, positions, strict=True) if p < 0
    ]
    assert positions == sorted(positions)
    for value in (
        "RO-2026-0042",
        "Ana Popescu",
        "123/P/2026",
        "Art 360 and 364 Criminal Code",
        "7 years imprisonment",
        "Servers of a hospital were encrypted",
        "US-PRES-2026-17",
        "198.51.100.23",
        "44321",
        "webmail",
        "MailCo Inc.",
        "deletes connection logs",
        "intends to submit a request for mutual assistance",
        "Partial disclosure wanted Yes",
        "Feedback wanted No",
        "90 days",
        "24/7 point of contact, US",
        "Europe/Bucharest",
    ):
        assert value in text, value
    assert "UTC: 2026-11-28 03:14:05 UTC" in text
    assert "Local: 2026-11-28 05:14:05 EET (UTC+02:00)" in text
    assert "As written: 2026-11-27T22:14:05-05:00" in text


def test_outgoing_request_shows_gaps_and_reads_offsetless_times_in_the_declared_zone():
    request = copy.deepcopy(REQUEST)
    del request["necessity"], request["offence"]["max_penalty"], request["mla_intended"]
    request["data"]["identifiers"][0]["observed_at"] = "2026-11-27 23:00:00"
    text = text_of(render_outgoing_request(request, Letterhead.default()))

    assert "8. Necessity of preservation Not stated." in text
    assert "Maximum penalty Not stated." in text
    assert "mutual legal assistance request Not stated." in text
    assert "UTC: 2026-11-27 21:00:00 UTC (read in Europe/Bucharest)" in text


def test_outgoing_request_renders_the_same_bytes_twice():
    letterhead = Letterhead.load(EXAMPLE_LETTERHEAD)
    first = render_outgoing_request(REQUEST, letterhead)
    assert render_outgoing_request(copy.deepcopy(REQUEST), letterhead) == first
    changed = copy.deepcopy(REQUEST)
    changed["data"]["period_days"] = 120
    assert render_outgoing_request(changed, letterhead) != first


def test_page_numbers_count_every_page_and_leave_typed_aliases_alone():
    """One rendering pass: the page total comes from a per-document alias that no requester
    can type in advance; fpdf2's own "{nb}" in an identifier stays as typed."""
    order = copy.deepcopy(ORDER)
    typed = {**order["identifiers"][0], "kind": "account", "value": "user{nb}@example.org"}
    order["identifiers"] = [typed] + [
        {**order["identifiers"][0], "value": f"203.0.113.{n}"} for n in range(1, 120)
    ]
    pdf = render_preservation_order(order, Letterhead.default(), "Europe/Bucharest")
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) > 1
    for number, text in enumerate(pages, start=1):
        assert f"page {number} of {len(pages)}" in text
    assert "user{nb}@example.org" in "".join(pages).replace("\n", "")


def test_paragraphs_wrap_at_spaces_and_break_only_words_longer_than_a_line():
    from cp247.documents.pdf import _Document

    pdf = _Document(Letterhead.default(), "ref")
    pdf.add_page()
    pdf.set_font("Helvetica", "", 10)
    room = 60.0
    words = ["preserve", "expeditiously", "the", "stored", "computer", "data"] * 6
    lines = pdf._wrap(" ".join(words), room)
    assert len(lines) > 1
    assert all(pdf.get_string_width(line) <= room for line in lines)
    assert " ".join(lines).split(" ") == words  # every word, in order, none split
    url = "https://example.org/" + "a" * 120
    broken = pdf._wrap(f"see {url} now\nnext", room)
    assert broken[0] == "see" and "".join(broken[1:-1]) == f"{url} now" and broken[-1] == "next"
    assert all(pdf.get_string_width(line) <= room for line in broken)
