"""What the penetration test of issue 17 found, how each finding was fixed, and the test that
fails if it comes back; rendered into ``docs/security.md`` ("Regressions")."""

from __future__ import annotations

ID = "tests/security/test_sign_in_and_accounts.py::"
DIRECTORY = "tests/security/test_directory_changes.py::"
INPUT = "tests/security/test_input_validation.py::"
INTEGRITY = "tests/security/test_integrity.py::"
AT_REST = "tests/security/test_outbound_and_at_rest.py::"
PAGES = "tests/security/test_alerts_work_and_notes.py::"

# (finding, fix, test that reproduces it)
REGRESSIONS: list[tuple[str, str, str]] = [
    (
        "Five bad logins locked any officer out for 15 minutes, even with the right password"
        " and code",
        "No lock: failures slow the address that fails (growing delay, 429 with Retry-After)"
        " and the account's answers; the right password and code always pass",
        ID + "test_failed_logins_never_lock_out_the_right_password_and_code",
    ),
    (
        "The lock, and a right password without a second factor, told which usernames exist",
        "One answer for every failure (401), the same argon2 work for unknown users, the same"
        " throttle for any name",
        ID + "test_unknown_users_get_the_same_answers_as_real_ones",
    ),
    (
        "No alert on a burst of failed logins",
        "`cp247_login_bursts_total` and the Cp247LoginBurst alert (20 failures in 15 minutes"
        " from one address or for one account)",
        ID + "test_a_burst_of_failed_logins_alerts_the_admins",
    ),
    (
        "Open redirect after login: `/login?next=/%09/evil.example` went to `//evil.example`",
        "One redirect-target check (`web_safety.local_target`): a path of this site, no"
        " control characters, backslashes or `//`",
        ID + "test_login_never_redirects_to_another_site",
    ),
    (
        "Login forms accepted cross-site POSTs (login CSRF)",
        "Refused by Sec-Fetch-Site / Origin; the API login takes application/json only",
        ID + "test_a_login_sent_from_another_site_is_refused",
    ),
    (
        "A TOTP code could be used twice",
        "The step of the last code used is recorded; a code of that step or earlier is refused",
        ID + "test_a_totp_code_works_once",
    ),
    (
        "Oversight accounts had no second factor",
        "Every person's login needs one",
        ID + "test_oversight_needs_a_second_factor_too",
    ),
    (
        "No way to disable a person: a leaver's tokens stayed valid",
        "`cp247 users disable` or `enable` and the admin API: every token and session of the user"
        " ends (a credential generation moves on)",
        ID + "test_a_disabled_user_cannot_sign_in_and_every_token_of_it_ends",
    ),
    (
        "No password change",
        "`cp247 users set-password` (from stdin): the old password and every session end",
        ID + "test_setting_a_password_ends_the_sessions_and_the_old_password",
    ),
    (
        "A stolen provider token whose string is unknown could not be revoked",
        "`cp247 tokens revoke-all --provider` and `POST /api/v1/admin/providers/{id}/"
        "revoke-tokens` end every token of the provider",
        ID + "test_every_token_of_a_provider_ends_even_one_whose_string_is_unknown",
    ),
    (
        "No list of accounts",
        "`GET /api/v1/admin/users`, `cp247 users list` and the page `/oversight/accounts`"
        " (role, second factor, state, last login)",
        ID + "test_the_admins_page_lists_accounts_and_disables_one",
    ),
    (
        "Any police or prosecution user could change a foreign CP's institutional e-mail;"
        " receipts and order notices then went there",
        "New addresses or phones of a listed entry are only proposed (`202`, `pending_change`);"
        " they take effect when another officer confirms them"
        " (`POST /api/v1/contact-points/changes/{id}/confirm`); until then receipts and notices"
        " go to the address in effect",
        DIRECTORY + "test_a_new_address_takes_effect_only_when_a_second_officer_confirms_it",
    ),
    (
        "The officer who changed the directory could approve it alone",
        "The proposer's own confirmation is `403`; a second proposal cannot replace a waiting"
        " one (`409`)",
        DIRECTORY + "test_the_proposer_cannot_confirm_their_own_change",
    ),
    (
        "`ContactPointUpdated` recorded no actor",
        "Every directory event records its actor (`ContactPointListed`, `ContactPointUpdated`,"
        " `ContactPointChangeProposed`, `...Confirmed` with the proposer, `...Rejected`)",
        DIRECTORY + "test_every_change_of_the_directory_records_its_actor",
    ),
    (
        "A redirection of a foreign CP's mail went unseen by that CP",
        "The address in effect gets the `directory_change` notice (en, fr): what is in use, what"
        " is proposed, how to reach our duty officer",
        DIRECTORY + "test_the_address_in_effect_is_told_of_a_proposed_change",
    ),
    (
        "The admin CSV import rewrote addresses and phones at once",
        "An import proposes them too and counts them as `pending`; another officer confirms",
        DIRECTORY
        + "test_an_import_proposes_new_addresses_and_phones_and_applies_them_on_confirmation",
    ),
    (
        '`"country": "US\\n"` passed `^[A-Z]{2}$`: a duplicate request became a second'
        " case and a second order",
        "Every pattern is a full match (`cp247.validation.FullMatch`, `re.fullmatch`); no"
        " `$`-anchored match is left in the code",
        INPUT + "test_a_country_with_a_trailing_newline_is_refused_not_a_new_case",
    ),
    (
        "A `$`-anchored pattern could come back in a new schema",
        "A scan of every schema and of the code for `$`-anchored matches",
        INPUT + "test_no_pattern_in_the_code_is_a_dollar_anchored_match",
    ),
    (
        "Non-ASCII digits in a TOTP code or a form field gave `500` (`isdigit()` then `int()`)",
        "One ASCII-digit parser (`cp247.validation.parse_ascii_int`); such input is a form error"
        " or a `401`",
        INPUT + "test_a_login_with_a_code_in_other_digits_is_a_401_not_a_500",
    ),
    (
        "Deleting a refusal from intake, notification and the timeline in step still verified",
        "Each producer's count and last position per case, tallied by the timeline, is"
        " cross-checked against the producers' stores; the timeline's store is sealed",
        INTEGRITY + "test_a_refusal_deleted_in_step_from_every_store_is_found",
    ),
    (
        "Deleting a token's revocation brought the token back, unseen",
        "The gateway's store (tokens, sessions, users) is sealed (HMAC chain) and verified by"
        " `cp247 audit verify`",
        INTEGRITY + "test_a_deleted_token_revocation_is_found",
    ),
    (
        "Deleting rows of the read audit erased who read a case",
        "The read audit is in the sealed gateway store too",
        INTEGRITY + "test_a_deleted_read_of_the_read_audit_is_found",
    ),
    (
        "An alert e-mail's link took the alert on GET or HEAD (a mail scanner stopped its"
        " escalation) and answered raw JSON with the case id",
        "Opening the link shows a page with a button; only its POST takes the alert; neither"
        " names the case",
        PAGES + "test_an_alert_link_fetched_by_a_mail_scanner_changes_nothing",
    ),
    (
        "`GET /api/v1/work` gave every open order's identifiers and left no read-audit entry",
        "The work list shows no identifiers; it, the inbox, the case list and a provider's"
        " order list are read-audited (`work:<day>`, `inbox:<day>`, ...)",
        PAGES + "test_work_list_is_read_audited_and_shows_no_identifiers",
    ),
    (
        "`?note=` showed any text as the console's own green status line",
        "The address carries a note's key only; the console shows its own sentence for it",
        PAGES + "test_a_note_in_the_address_is_not_shown_unless_the_product_set_it",
    ),
    (
        'The "data preserved" message gave the report time as "Preserved until"',
        'It gives the report time as "Preserved on" and the period\'s end as "Preserved'
        ' until" (en, fr)',
        PAGES + "test_data_preserved_message_says_when_it_was_preserved_and_until_when",
    ),
    (
        "Provider webhook URLs could point at loopback or link-local addresses (SSRF)",
        "Webhook and alert URLs must be https to a public address unless the host is in"
        " `CP247_OUTBOUND_ALLOWED_HOSTS`",
        AT_REST + "test_a_webhook_to_loopback_or_link_local_is_refused",
    ),
    (
        "Outbound calls followed redirects",
        "Redirects are not followed: a 3xx is a failed delivery",
        AT_REST + "test_redirects_are_not_followed",
    ),
    (
        "The data directory was created 0755 and the stores 0644",
        "umask 077: the directory is 0700, stores, logs and dead letters 0600",
        AT_REST + "test_data_directory_and_stores_are_private",
    ),
    (
        "Dead letters kept their payloads unsealed",
        "Dead letters are sealed with the events key (AES-GCM); `cp247 dead-letters open` reads"
        " them",
        AT_REST + "test_dead_letters_are_sealed",
    ),
    (
        "`/metrics` was public, with per-country counters",
        "`/metrics` needs the scrape token `CP247_METRICS_TOKEN` (`404` while unset, `401`"
        " for a wrong one); Prometheus and the chart send it",
        AT_REST + "test_metrics_need_the_scrape_token",
    ),
    (
        "Responses named the server software (`Server` banner)",
        "No `Server` header",
        AT_REST + "test_no_server_banner",
    ),
]


def regressions() -> list[str]:
    lines = [
        "",
        "## Regressions",
        "",
        "What the penetration test found, the fix, and the test that fails if it comes back.",
        "",
        "| finding | fix | test |",
        "|---|---|---|",
    ]
    for finding, fix, test in REGRESSIONS:
        cells = (cell.replace("|", "\\|") for cell in (finding, fix))  # a pipe ends a cell
        lines.append("| {} | {} | `{}` |".format(*cells, test))
    return lines
