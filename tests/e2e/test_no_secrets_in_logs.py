"""Access logs never keep a capability from a query string or a token."""

from __future__ import annotations

import logging

from cp247.log_redaction import redact


def test_redaction_masks_query_strings_and_tokens_but_keeps_the_path():
    line = '"GET /api/v1/alerts/ack?token=abc.def HTTP/1.1" 200 by cp247_AbCdEfGhIjKlMnOpQrStUv12'
    cleaned = redact(line)
    assert "abc.def" not in cleaned and "AbCdEfGhIj" not in cleaned
    assert "/api/v1/alerts/ack?[redacted]" in cleaned and "HTTP/1.1" in cleaned
    assert redact("GET /healthz HTTP/1.1") == "GET /healthz HTTP/1.1"


def test_the_acknowledgement_link_leaves_no_capability_in_the_access_log(embedded, caplog):
    api, _, _ = embedded
    caplog.set_level(logging.INFO)
    secret = "s3cr3t-capability-1234567890"
    assert api.call("GET", f"/api/v1/alerts/ack?token={secret}")[0] == 404
    access = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("/api/v1/alerts/ack" in line for line in access), access
    assert secret not in caplog.text
