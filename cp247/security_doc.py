"""The authorization matrix of the API, rendered from the gateway's own route table
(``make security-doc`` writes ``docs/security.md``): one place enforces roles, and the
document can never disagree with it."""

from __future__ import annotations

from cp247.security_regressions import regressions
from services.gateway.api import (
    ALL_ROLES,
    CSRF_HEADER,
    HSTS,
    SAFE_METHODS,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    Gateway,
)


def matrix() -> list[tuple[str, str, tuple[str, ...] | None]]:
    """(method, path, roles or None for public), in path order."""
    gateway = Gateway(backends=None)  # type: ignore[arg-type]
    rows = []
    for rule in gateway.url_map.iter_rules():
        _, roles = gateway.handlers[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rows.append((method, rule.rule, roles))
    return sorted(rows, key=lambda row: (row[1], row[0]))


def render() -> str:
    lines = [
        "# Security: who may call what",
        "",
        "Generated from the gateway's route table by `make security-doc`; do not edit by hand.",
        "Every call needs `Authorization: Bearer <token>` (or the login session cookie, see",
        "below) unless marked public. A role that is not allowed gets `403`; an ISP asking for",
        "another provider's order gets `404`.",
        "",
        "| method | path | " + " | ".join(ALL_ROLES) + " |",
        "|---|---|" + "---|" * len(ALL_ROLES),
    ]
    for method, path, roles in matrix():
        cells = ["public" if roles is None else ("yes" if r in roles else "-") for r in ALL_ROLES]
        lines.append(f"| {method} | `{path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines + SESSIONS + threat_model() + regressions()) + "\n"


SESSIONS = [
    "",
    "## Sessions, CSRF and response headers",
    "",
    f"- `POST /api/v1/login` sets the session cookie `{SESSION_COOKIE}` (`HttpOnly`,",
    "  `SameSite=Strict`, `Secure` unless `CP247_INSECURE_COOKIES=1`) and returns the same token",
    "  with its `csrf_token`. The cookie authenticates like a bearer token; when both are sent,",
    "  the `Authorization: Bearer` header wins.",
    f"- A cookie-authenticated request other than {'/'.join(SAFE_METHODS)} must carry",
    f"  `{CSRF_HEADER}` equal to the session's `csrf_token`, else `403 csrf_token_invalid`.",
    "  The token is HMAC-SHA256 of the session token under a key derived from",
    "  `CP247_EVENTS_KEY`, so every gateway replica checks it without shared state. Bearer",
    "  requests are not subject to it (a header is no ambient credential).",
    "- `POST /api/v1/logout` revokes the session token and clears the cookie. An API token",
    "  from `cp247 tokens issue` is not a session (`409`); revoke it with `cp247 tokens revoke`.",
    "- Every response (JSON, pages, documents, errors) carries these headers:",
    *(f"  - `{name}: {value}`" for name, value in SECURITY_HEADERS.items()),
    "  - `Cache-Control: no-store` under `/api/`",
    f"  - `Strict-Transport-Security: {HSTS}` when cookies are `Secure` (HTTPS deployments)",
]


# (threat, how cp247 meets it, tests that show it: path::test name, checked to exist).
THREATS: list[tuple[str, str, list[str]]] = [
    (
        "An outsider calls the API",
        "Every endpoint but the public ones needs a bearer token or session; tokens are random,"
        " stored as SHA-256 digests only, expire and can be revoked.",
        [
            "tests/unit/test_identity.py::test_token_identifies_user_with_role_until_revoked",
            "tests/unit/test_identity.py::test_token_stops_working_when_it_expires",
        ],
    ),
    (
        "A user does more than the role allows; an ISP reads another provider's orders",
        "One route table declares the roles of every endpoint and the gateway enforces it in"
        " one place (the matrix above); provider tokens are bound to their provider.",
        [
            "tests/e2e/test_authorization_matrix.py::test_every_endpoint_checks_every_role",
            "tests/unit/test_identity.py::test_provider_token_is_bound_to_its_provider",
        ],
    ),
    (
        "Password guessing or a stolen password",
        "argon2id hashes; a TOTP second factor for every person, each code good once; after five"
        " failures in 15 minutes the failing address waits a doubling delay and the account's"
        " failures are answered ever more slowly, never a lock the right password and code"
        " cannot pass; one answer for every failure; an alert on a burst.",
        [
            "tests/e2e/test_login.py::"
            "test_login_needs_password_and_code_and_slows_the_address_after_five_failures",
            "tests/security/test_sign_in_and_accounts.py::test_unknown_users_get_the_same_answers_as_real_ones",
            "tests/unit/test_identity.py::test_password_hashes_are_argon2id",
            "tests/unit/test_totp.py::test_one_step_of_clock_drift_is_accepted_and_no_more",
        ],
    ),
    (
        "Cross-site request forgery, clickjacking, script injection in a browser",
        "SameSite=Strict HttpOnly cookie, CSRF token on every cookie request that changes"
        " something, CSP without inline script or style, frame denial, no-sniff.",
        [
            "tests/e2e/test_sessions_and_headers.py::"
            "test_a_cookie_request_that_changes_something_needs_the_sessions_csrf_token",
            "tests/e2e/test_sessions_and_headers.py::"
            "test_security_headers_are_on_every_kind_of_response",
        ],
    ),
    (
        "Forged forms or injected script in the consoles",
        "Every console form carries the session's CSRF token; pages are rendered with"
        " autoescaping, so what a requester wrote is shown as text, never run; no script or"
        " style from elsewhere (works offline).",
        [
            "tests/e2e/test_console_pages.py::test_every_form_needs_the_sessions_csrf_token",
            "tests/browser/test_consoles.py::test_hostile_text_is_shown_as_text_and_never_run",
            "tests/e2e/test_console_pages.py::test_login_never_sends_anyone_to_another_site",
        ],
    ),
    (
        "An insider redirects a foreign CP's receipts and notices to an address of theirs",
        "New e-mail addresses or phones of a listed contact point are only proposed: the"
        " address in effect is told, receipts and notices keep going there, and the change"
        " takes effect when another officer than its proposer confirms it (CSV imports too);"
        " every directory event records its actor.",
        [
            "tests/security/test_directory_changes.py::"
            "test_a_new_address_takes_effect_only_when_a_second_officer_confirms_it",
            "tests/security/test_directory_changes.py::"
            "test_the_proposer_cannot_confirm_their_own_change",
            "tests/security/test_directory_changes.py::"
            "test_the_address_in_effect_is_told_of_a_proposed_change",
        ],
    ),
    (
        "Oversight learns case content",
        "Oversight has statistics and the audit verdict only: counts and durations, no names,"
        " identifiers, free text or case ids.",
        [
            "tests/e2e/test_oversight_statistics.py::"
            "test_statistics_count_time_and_follow_up_without_case_content",
            "tests/e2e/test_audit_verify.py::"
            "test_timeline_matches_the_event_stores_until_someone_edits_it",
        ],
    ),
    (
        "Someone with database access alters or removes what happened",
        "Each case timeline is a SHA-256 chain; `audit verify` recomputes every entry from the"
        " producers' own event stores and names the first missing, altered or unexpected one."
        " Deleting in step across stores (a refusal from intake, its notices and its timeline"
        " entries) still fails: the timeline keeps, apart from its entries, each producer's"
        " count and last position per case, and verification counts the producers' events"
        " again. The gateway's store (users, tokens, sessions, the read audit) and the"
        " timeline's are sealed by an HMAC chain (key derived from the event key) over every"
        " record: a deleted revocation or read names its range and kind. The quick check"
        " covers what came since its checkpoint; the full re-verification (a background job)"
        " all of it. An insider with the keys who rewrites a producer, the timeline and the"
        " seals together is caught by the daily anchors: the head, signed with the documents"
        " key, kept in a file and a mail outside the database; `audit verify --against`"
        " recomputes every anchored head.",
        [
            "tests/e2e/test_incremental_audit.py::"
            "test_an_entry_altered_after_the_checkpoint_is_found_by_the_quick_check",
            "tests/e2e/test_audit_anchors.py::"
            "test_a_rewritten_history_fails_against_the_anchored_heads",
            "tests/e2e/test_audit_verify.py::"
            "test_timeline_matches_the_event_stores_until_someone_edits_it",
            "tests/unit/test_timeline_chain.py::test_changing_an_entry_changes_every_later_hash",
            "tests/security/test_integrity.py::"
            "test_a_refusal_deleted_in_step_from_every_store_is_found",
            "tests/security/test_integrity.py::test_a_deleted_token_revocation_is_found",
            "tests/security/test_integrity.py::test_a_deleted_read_of_the_read_audit_is_found",
        ],
    ),
    (
        "Who looked at a case cannot be told",
        "Reading a case, its timeline, a request, an order or a document is recorded (who,"
        " role, when), and so is opening a list that names people or data (the work list, the"
        " inbox, the case list, a provider's orders), by the day; the work list shows no"
        " identifiers; admins list the reads.",
        [
            "tests/e2e/test_audit_verify.py::test_who_read_a_case_or_a_document_is_recorded",
            "tests/security/test_alerts_work_and_notes.py::"
            "test_work_list_is_read_audited_and_shows_no_identifiers",
        ],
    ),
    (
        "A mail scanner, or whoever a duty alert is forwarded to, follows its link",
        "Opening the link changes nothing (a page with a button; only its POST takes the"
        " alert) and names no case; status lines show only the console's own sentences.",
        [
            "tests/security/test_alerts_work_and_notes.py::"
            "test_an_alert_link_fetched_by_a_mail_scanner_changes_nothing",
            "tests/security/test_alerts_work_and_notes.py::"
            "test_a_note_in_the_address_is_not_shown_unless_the_product_set_it",
        ],
    ),
    (
        "The platform is made to call its own network (SSRF), or files on disk are read by"
        " another local account",
        "Outbound URLs must be https to public addresses, checked at registration and at each"
        " send, redirects not followed, unless the operator allows a host; the data directory"
        " is 0700, every file 0600, dead letters sealed; `/metrics` needs a scrape token.",
        [
            "tests/security/test_outbound_and_at_rest.py::"
            "test_a_webhook_to_loopback_or_link_local_is_refused",
            "tests/security/test_outbound_and_at_rest.py::"
            "test_data_directory_and_stores_are_private",
            "tests/security/test_outbound_and_at_rest.py::test_metrics_need_the_scrape_token",
        ],
    ),
    (
        "A stolen database or backup",
        "Every stored event is encrypted (AES-GCM, CP247_EVENTS_KEY kept apart from the data);"
        " personal fields are sealed again under a per-case key.",
        [
            "tests/e2e/test_audit_verify.py::test_events_are_encrypted_at_rest",
            "tests/distributed/test_distributed_retention.py::"
            "test_personal_data_is_unreadable_at_rest_and_erased_by_retention",
            "tests/unit/test_sealing.py::test_personal_fields_are_stored_sealed_and_read_back_plain",
        ],
    ),
    (
        "The broker's disk, its queues or dead letters are copied",
        "Every event message on RabbitMQ (relay, catch-up RPC answers, dead letters) carries"
        " its personal fields sealed under the case key, as the stores do, opened only by the"
        " consuming service; a message still queued when its case is erased reads as erased;"
        " a sealed value moved to another case does not open and is dead-lettered. RPC"
        " commands and answers between the gateway and the services are not sealed (they are"
        " consumed within milliseconds and never dead-lettered).",
        [
            "tests/distributed/test_distributed_slice.py::"
            "test_no_registered_identifier_rests_on_the_broker_in_clear",
            "tests/unit/test_wire_sealing.py::"
            "test_personal_fields_are_sealed_in_every_message_on_the_wire",
            "tests/unit/test_wire_sealing.py::"
            "test_a_queued_message_reads_as_erased_once_the_case_key_is_destroyed",
            "tests/unit/test_wire_sealing.py::"
            "test_a_sealed_value_moved_to_another_case_is_dead_lettered",
        ],
    ),
    (
        "Personal data kept beyond retention",
        "`cp247 retention apply` destroys the case key: the personal fields are unreadable in"
        " every service, even to a holder of the event key; the timeline and its chain remain.",
        [
            "tests/e2e/test_retention.py::test_erased_case_keeps_its_timeline_and_verifiable_chain",
            "tests/e2e/test_retention.py::test_only_cases_at_rest_past_the_period_are_erased",
        ],
    ),
    (
        "A leaked or ageing event key",
        "`cp247 keys rotate` / `rewrap`: new events under a new key, case keys re-wrapped,"
        " earlier keys decrypt-only.",
        [
            "tests/e2e/test_key_rotation.py::"
            "test_rotation_keeps_history_readable_and_writes_with_the_new_key",
            "tests/unit/test_sealing.py::test_rewrapping_under_a_new_key_keeps_every_case_readable",
        ],
    ),
    (
        "Oversized or malformed input crashes the service",
        "Bodies over the size limit are refused (413), announced or streamed; a body that is"
        " not UTF-8 JSON text (lone surrogates, NaN) or nests deeper than 64 levels is a 400;"
        " every schema error is a 4xx naming the field, never a stack trace; Schemathesis"
        " fuzzes every operation of the OpenAPI document as every role for 5xx.",
        [
            "tests/e2e/test_hostile_bodies.py::test_a_body_of_megabytes_is_refused_before_it_is_parsed",
            "tests/e2e/test_hostile_bodies.py::test_hostile_body_is_answered_4xx_naming_the_field",
            "tests/e2e/test_hostile_input.py::test_a_body_beyond_the_limit_is_413_on_every_endpoint",
            "tests/e2e/test_hostile_input.py::test_deeply_nested_json_is_a_400",
            "tests/e2e/test_hostile_input.py::"
            "test_a_body_that_is_not_utf8_json_text_is_a_400_and_changes_nothing",
            "tests/e2e/test_fuzz_api.py::test_no_generated_call_gets_a_server_error",
        ],
    ),
    (
        "Traversal or injection through ids and free text",
        "Ids are looked up, never interpreted (no SQL, paths or templates built from them):"
        " a hostile id is a 404; free text is stored as sent and shown escaped.",
        [
            "tests/e2e/test_hostile_input.py::test_traversal_and_injection_in_ids_find_nothing",
            "tests/e2e/test_hostile_input.py::test_free_text_is_stored_verbatim_and_shown_escaped",
            "tests/e2e/test_hostile_input.py::test_static_files_do_not_reach_outside_their_folder",
        ],
    ),
    (
        "A leaver, a stolen laptop or a provider's token whose string is unknown",
        "Disabling a user, setting a password or revoking everything of a user or a provider"
        " moves its credential generation on: every earlier token and session ends at once,"
        " in every gateway process; admins list accounts with their last login.",
        [
            "tests/security/test_sign_in_and_accounts.py::"
            "test_a_disabled_user_cannot_sign_in_and_every_token_of_it_ends",
            "tests/security/test_sign_in_and_accounts.py::"
            "test_every_token_of_a_provider_ends_even_one_whose_string_is_unknown",
            "tests/distributed/test_distributed_identity.py::"
            "test_a_disabled_person_and_a_replayed_code_are_refused_by_every_gateway",
        ],
    ),
    (
        "A provider's leaked token, or its answers replayed",
        "A revoked token is refused on every ISP endpoint and records nothing; each provider"
        " action is recorded once, however often or late it is repeated.",
        [
            "tests/e2e/test_hostile_input.py::"
            "test_a_revoked_provider_token_is_refused_everywhere_and_records_nothing",
            "tests/e2e/test_hostile_input.py::test_a_replayed_earlier_action_changes_nothing",
            "tests/e2e/test_hostile_input.py::"
            "test_the_same_action_sent_at_once_many_times_is_recorded_once",
        ],
    ),
    (
        "Forged order documents or webhook pushes",
        "Order documents are signed with Ed25519 (`cp247 documents verify`); webhooks carry an"
        " HMAC over timestamp and body with a per-provider derived secret.",
        [
            "tests/unit/test_order_documents.py::test_verification_fails_on_one_changed_byte",
            "tests/unit/test_webhooks.py::"
            "test_signature_binds_the_timestamp_so_a_capture_cannot_be_refreshed",
        ],
    ),
]


def threat_model() -> list[str]:
    lines = [
        "",
        "## Threat model",
        "",
        "Assets: case content (personal data of suspects and victims), the integrity of the",
        "shared timeline, the keys. Adversaries: outsiders on the network, users beyond their",
        "role, a thief of the database or a backup, an insider with database access, a",
        "leaver whose account or token lives on, mail scanners that follow every link. Out of",
        "scope here: a compromised host running cp247 with its keys in memory.",
        "",
        "| threat | how it is met | shown by |",
        "|---|---|---|",
    ]
    for threat, answer, tests in THREATS:
        shown = "<br>".join(f"`{t.split('::')[1]}`" for t in tests)
        lines.append(f"| {threat} | {answer} | {shown} |")
    return lines
