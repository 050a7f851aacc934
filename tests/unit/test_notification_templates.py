"""The notification e-mail templates: every one renders in every language, says what its
context says (and no more), falls back to English, and refuses an incomplete context."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from jinja2 import UndefinedError

from events.catalogue import REQUEST_TYPES
from services.intake.domain import ART29_6_REASONS, REFUSAL_GROUNDS
from services.notification.templates import (
    DEFAULT_LANGUAGE,
    SUPPORTED_LANGUAGES,
    TEMPLATE_DIR,
    TEMPLATE_NAMES,
    TEMPLATE_VARIABLES,
    RenderedMessage,
    choose_language,
    render,
    render_for,
)

# One value for every variable any template uses; each is distinct, so finding it in a body
# proves that the template printed that variable.
FULL: dict[str, Any] = {
    "our_reference": "RO-2024-0042",
    "their_reference": "BKA-SO43-7781",
    "contact_point": "24/7 Contact Point Romania",
    "received_at": "2024-05-03T14:05:00Z",
    "time_zone": "Europe/Berlin",
    "duty_name": "Ana Popescu",
    "duty_phone": "+40 21 555 0101",
    "duty_email": "duty@cp247.example",
    "provider": "Telco-A SA",
    "expires_at": "2024-08-01T09:30:00+00:00",
    "reason": "confidentiality",  # a code for art29_6_notice, free text for data_unavailable
    "country": "NL",
    "path": "AS1136 via AS3320",
    "grounds": ["political_offence", "security"],
    "explanation": "Explanation text 6b1f",
    "days_left": 12,
    "mla_reference": "MLA-2024-17",
    "action": "Action text 9c2e",
    "type": "emergency_disclosure",
    "urgency": "emergency",
    "counterpart_country": "DE",
    "acknowledge_url": "https://cp247.example/api/v1/alerts/ack?token=abc.def",
    "minutes": 15,
    "recipients": ["cp@foreign.example", "desk@foreign.example"],
    "message_subject": "Accusé de réception - notre réf. RO-2024-0042",
    "attempts": 8,
    "error": "550 5.1.1 mailbox unknown",
    "case_url": "https://cp247.example/console/cases/c-42",
    "kind": "disclosure",
    "due_by": "2024-05-23T14:05:00Z",
    "offset_hours": 4,
    "sent_at": "2024-05-02T08:00:00Z",
    "entry_name": "Federal Cyber Crime Duty Desk",
    "changes": [
        {"field": "institutional_email", "old": "cp@foreign.example", "new": "cp@new.example"},
        {"field": "phones", "old": ["+12025550100"], "new": []},
    ],
    "proposed_at": "2024-05-04T10:00:00Z",
    "preserved_at": "2024-05-01T07:30:00Z",
    "conditions": {
        "use_limited_to": "Proceedings 41 Js 77/24",
        "confidential": True,
        "further_transfer": "with_consent",
        "handling_code": "TLP:AMBER",
    },
    "level": 2,
    "decide_by": "2024-05-03T15:05:00Z",
    "files": [{"name": "subscriber-7f3a.csv", "size": 912, "sha256": "5e" * 32}],
}
# Values printed as given (codes such as ``type`` or ``grounds`` are worded instead).
LITERAL = {
    "our_reference",
    "their_reference",
    "contact_point",
    "duty_name",
    "duty_phone",
    "duty_email",
    "provider",
    "country",
    "path",
    "explanation",
    "mla_reference",
    "action",
    "counterpart_country",
    "acknowledge_url",
    "message_subject",
    "error",
    "entry_name",
}
# Messages about a request quote its two references; the directory notice is about none.
TO_REQUESTER = [n for n in TEMPLATE_NAMES if "their_reference" in TEMPLATE_VARIABLES[n]]


def context(name: str, **overrides: Any) -> dict[str, Any]:
    """Exactly the variables ``name`` declares, from FULL, with overrides."""
    values = {key: FULL[key] for key in TEMPLATE_VARIABLES[name]}
    if name == "data_unavailable":
        values["reason"] = "logs rotated after 7 days"
    values.update(overrides)
    return values


ALL = [(name, language) for name in TEMPLATE_NAMES for language in SUPPORTED_LANGUAGES]


def test_the_names_and_languages_match_the_files() -> None:
    assert set(SUPPORTED_LANGUAGES) == {p.name for p in TEMPLATE_DIR.iterdir() if p.is_dir()}
    assert DEFAULT_LANGUAGE in SUPPORTED_LANGUAGES
    for language in SUPPORTED_LANGUAGES:
        files = {p.name for p in (TEMPLATE_DIR / language).glob("*.txt.j2")}
        assert files == {f"{name}.txt.j2" for name in TEMPLATE_NAMES}, language
    assert len(TEMPLATE_NAMES) == 21


@pytest.mark.parametrize(("name", "language"), ALL)
def test_every_template_renders_in_every_language(name: str, language: str) -> None:
    message = render(name, language, context(name))

    assert isinstance(message, RenderedMessage)
    assert message.language == language
    assert message.subject and "\n" not in message.subject
    assert not message.subject.startswith("Subject:")
    assert not message.body.startswith(("Subject:", "\n"))
    assert message.body.endswith("\n") and not message.body.endswith("\n\n")
    assert "\n\n\n" not in message.body, "no stray blank lines from template tags"
    assert all(line == line.rstrip() for line in message.body.splitlines())
    assert FULL["our_reference"] in message.subject
    for key in LITERAL & set(TEMPLATE_VARIABLES[name]):
        assert str(FULL[key]) in message.body, key
    # The language really is that language, and nothing of the other one leaks in.
    if language == "fr":
        assert "référence" in message.body and "reference" not in message.body
    else:
        assert "reference" in message.body and "référence" not in message.body


@pytest.mark.parametrize("name", TO_REQUESTER)
def test_messages_to_a_foreign_cp_quote_both_references_in_the_subject(name: str) -> None:
    english = render(name, "en", context(name))
    french = render(name, "fr", context(name))
    assert english.subject.endswith("- your ref. BKA-SO43-7781 - our ref. RO-2024-0042")
    assert french.subject.endswith("- votre réf. BKA-SO43-7781 - notre réf. RO-2024-0042")
    assert english.body.startswith("Dear colleagues,\n")
    assert french.body.startswith("Madame, Monsieur,\n")


@pytest.mark.parametrize(("name", "language"), ALL)
def test_every_declared_variable_is_required(name: str, language: str) -> None:
    """StrictUndefined: leaving any one variable out fails loudly, in both languages, so
    TEMPLATE_VARIABLES is exactly what the files use."""
    full = context(name)
    for key in full:
        partial = {k: v for k, v in full.items() if k != key}
        with pytest.raises(UndefinedError, match=key):
            render(name, language, partial)


@pytest.mark.parametrize(
    ("kind", "language", "words"),
    [
        ("preservation", "en", "Preservation order awaits"),
        ("disclosure", "en", "Disclosure order awaits"),
        ("preservation", "fr", "Ordre de conservation"),
        ("disclosure", "fr", "Ordre de divulgation"),
    ],
)
def test_the_approval_message_names_the_kind_of_order(kind: str, language: str, words: str):
    message = render("approval_needed", language, context("approval_needed", kind=kind))
    assert words in message.subject


def test_a_missing_variable_is_caught_not_printed_empty() -> None:
    incomplete = context("receipt")
    del incomplete["duty_phone"]
    with pytest.raises(UndefinedError, match="duty_phone"):
        render("receipt", "en", incomplete)


def test_unknown_template_is_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="unknown notification template 'reciept'"):
        render("reciept", "en", {})


@pytest.mark.parametrize("language", ["ro", "de", None, "", "xx-YY"])
def test_unsupported_language_falls_back_to_english(language: str | None) -> None:
    message = render("receipt", language, context("receipt"))
    assert message.language == "en"
    assert message.subject.startswith("Confirmation of receipt")


@pytest.mark.parametrize("tag", ["fr", "FR", "fr-BE", "fr_CA", " fr "])
def test_language_tags_are_read_by_their_primary_subtag(tag: str) -> None:
    assert render("receipt", tag, context("receipt")).language == "fr"


@pytest.mark.parametrize(
    ("languages", "expected"),
    [
        (["ro", "fr", "en"], "fr"),
        (["ro", "en", "fr"], "en"),
        (["de-AT", "fr-LU"], "fr"),
        (["ro", "de"], "en"),
        ([], "en"),
        (None, "en"),
        ([None, "fr"], "fr"),
    ],
)
def test_first_supported_language_is_chosen(languages: list[str] | None, expected: str) -> None:
    assert choose_language(languages) == expected
    message = render_for("order_issued", languages, context("order_issued"))
    assert message.language == expected
    assert message.subject.startswith(
        "Injonction de conservation" if expected == "fr" else "Preservation order"
    )


def test_receipt_shows_utc_and_the_requesters_local_time() -> None:
    en = render("receipt", "en", context("receipt")).body
    fr = render("receipt", "fr", context("receipt")).body
    assert "Received at:     2024-05-03 14:05:00 UTC\n" in en
    assert "Your time:       2024-05-03 16:05:00 (Europe/Berlin, UTC+02:00)\n" in en
    assert "Reçue le :         2024-05-03 14:05:00 UTC\n" in fr
    assert "(Europe/Berlin, UTC+02:00)" in fr


def test_times_may_be_aware_datetimes_in_any_zone() -> None:
    bucharest = timezone(timedelta(hours=3))
    as_text = render("receipt", "en", context("receipt", time_zone="America/New_York"))
    as_datetime = render(
        "receipt",
        "en",
        context(
            "receipt",
            received_at=datetime(2024, 5, 3, 17, 5, tzinfo=bucharest),
            time_zone="America/New_York",
        ),
    )
    assert as_text == as_datetime
    assert "2024-05-03 10:05:00 (America/New_York, UTC-04:00)" in as_text.body


def test_a_time_without_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        render("receipt", "en", context("receipt", received_at="2024-05-03T14:05:00"))
    with pytest.raises(ValueError, match="no UTC offset"):
        render("order_issued", "fr", context("order_issued", expires_at=datetime(2024, 8, 1)))


@pytest.mark.parametrize("zone", [None, "", "Mars/Olympus_Mons"])
def test_receipt_without_a_usable_zone_shows_utc_only(zone: str | None) -> None:
    body = render("receipt", "en", context("receipt", time_zone=zone)).body
    assert "2024-05-03 14:05:00 UTC" in body
    assert "Your time" not in body


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_optional_values_given_as_none_are_said_or_left_out(language: str) -> None:
    receipt = render("receipt", language, context("receipt", their_reference=None, duty_name=None))
    assert FULL["our_reference"] in receipt.subject and "BKA" not in receipt.subject
    assert ("your ref." if language == "en" else "votre réf.") not in receipt.subject
    assert ("not given" if language == "en" else "non communiquée") in receipt.body
    # No personal data beyond the context: without a name there is no name line at all.
    assert "Ana Popescu" not in receipt.body
    assert ("Duty officer:" if language == "en" else "De permanence :") not in receipt.body
    assert FULL["duty_phone"] in receipt.body

    reminder = render("mla_reminder", language, context("mla_reminder", mla_reference=None))
    assert ("not yet received" if language == "en" else "pas encore reçue") in reminder.body

    art30 = render(
        "art30_disclosure", language, context("art30_disclosure", path=None, conditions=None)
    )
    assert ("not given" if language == "en" else "non communiquée") in art30.body
    assert ("No conditions" if language == "en" else "Aucune condition") in art30.body

    failed = render("delivery_failed", language, context("delivery_failed", our_reference=None))
    assert "None" not in failed.subject and "None" not in failed.body


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_refusal_grounds_are_worded_in_the_language(language: str) -> None:
    body = render("refusal", language, context("refusal", grounds=list(REFUSAL_GROUNDS))).body
    listed = [line[2:] for line in body.splitlines() if line.startswith("- ")]
    assert len(listed) == len(REFUSAL_GROUNDS)
    for code in REFUSAL_GROUNDS:
        assert code not in listed, f"{code} has no {language} wording"
    article = "Art 29(5)(a)" if language == "en" else "art. 29(5)(a)"
    assert article in body


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_a_single_ground_given_as_text_is_one_ground(language: str) -> None:
    body = render("refusal", language, context("refusal", grounds="security")).body
    assert body.count("\n- ") == 1
    assert "sécurité" in body if language == "fr" else "prejudice to our security" in body


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_art29_6_reasons_and_request_types_are_worded(language: str) -> None:
    wording = {
        "en": {
            "availability": "will not ensure the future availability of the data",
            "confidentiality": "will threaten the confidentiality of your investigation",
            "prejudice": "will otherwise prejudice your investigation",
        },
        "fr": {
            "availability": "ne suffira pas à garantir la disponibilité future des données",
            "confidentiality": "compromettra la confidentialité de votre enquête",
            "prejudice": "nuira d'une autre façon à votre enquête",
        },
    }[language]
    assert set(wording) == set(ART29_6_REASONS)
    for reason, words in wording.items():
        body = render("art29_6_notice", language, context("art29_6_notice", reason=reason)).body
        assert f" {words}.\n" in body, reason

    def type_line(name: str, request_type: str) -> str:
        body = render(name, language, context(name, type=request_type)).body
        return next(line for line in body.splitlines() if line.startswith("Type"))

    for request_type in REQUEST_TYPES:
        for name in ("duty_alert", "duty_escalation"):
            assert not type_line(name, request_type).endswith(f" {request_type}"), (
                f"{request_type} has no {language} wording"
            )
    # An unknown code is shown as it is rather than dropped.
    assert type_line("duty_alert", "new_kind").endswith(" new_kind")


def test_counts_agree_in_each_language() -> None:
    def subject(language: str, days: int) -> str:
        return render("mla_reminder", language, context("mla_reminder", days_left=days)).subject

    assert "ends in 1 day -" in subject("en", 1)
    assert "ends in 12 days -" in subject("en", 12)
    assert "dans 1 jour -" in subject("fr", 1)
    assert "dans 0 jour -" in subject("fr", 0)  # French: singular below two
    assert "dans 12 jours -" in subject("fr", 12)
    one = render("duty_escalation", "en", context("duty_escalation", minutes=1)).body
    assert "within 1\nminute and" in one


def test_a_line_break_in_a_reference_cannot_end_the_subject() -> None:
    message = render(
        "receipt", "en", context("receipt", their_reference="A-1\nBcc: someone@example.org")
    )
    assert message.subject.endswith(
        "your ref. A-1 Bcc: someone@example.org - our ref. RO-2024-0042"
    )
    assert message.body.startswith("Dear colleagues,")


def test_text_is_not_html_escaped() -> None:
    body = render("data_unavailable", "en", context("data_unavailable", reason="A & B <x>")).body
    assert "Reason given:    A & B <x>\n" in body


def test_the_utc_shown_is_the_same_moment_as_given() -> None:
    moment = datetime(2024, 12, 31, 23, 59, tzinfo=UTC)
    body = render("order_issued", "en", context("order_issued", expires_at=moment)).body
    assert "Preserved until: 2024-12-31 23:59:00 UTC\n" in body


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_the_directory_notice_shows_what_is_in_use_and_what_is_proposed(language: str) -> None:
    """Told at the address in effect: each change with the value in use and the one proposed,
    an empty list worded, and how to reach our duty officer before it is confirmed."""
    message = render("directory_change", language, context("directory_change"))
    body = message.body
    assert body.index("cp@foreign.example") < body.index("cp@new.example")
    assert "+12025550100" in body and FULL["duty_phone"] in body
    assert ("none" if language == "en" else "néant") in body
    ours = {"en": "- our ref. RO-2024-0042", "fr": "- notre réf. RO-2024-0042"}[language]
    assert message.subject.endswith(ours)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_a_disclosure_states_its_art28_2_conditions_and_each_files_sha256(language: str) -> None:
    body = render("production_disclosure", language, context("production_disclosure")).body
    conditions, file = FULL["conditions"], FULL["files"][0]
    assert conditions["use_limited_to"] in body and conditions["handling_code"] in body
    assert file["sha256"] in body and file["name"] in body
    assert ("Art 28(2)" if language == "en" else "art. 28(2)") in body
    consent = "only with our prior consent" if language == "en" else "avec notre accord"
    assert consent in body
    forbidden = {**conditions, "further_transfer": "forbidden", "handling_code": None}
    body = render(
        "production_disclosure", language, context("production_disclosure", conditions=forbidden)
    ).body
    assert ("forbidden" if language == "en" else "interdit") in body
    assert "TLP" not in body and "None" not in body
