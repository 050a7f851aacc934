"""TOTP as RFC 6238 defines it, so any authenticator app agrees."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

from cp247 import totp

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


def test_rfc6238_test_vectors_sha1():
    # RFC 6238 appendix B gives 8 digits; the 6-digit code is their last six.
    assert totp.code_at(RFC_SECRET, 59) == "287082"
    assert totp.code_at(RFC_SECRET, 1111111109) == "081804"
    assert totp.code_at(RFC_SECRET, 2000000000) == "279037"


def test_one_step_of_clock_drift_is_accepted_and_no_more():
    code = totp.code_at(RFC_SECRET, 1_000_000)
    assert totp.verify(RFC_SECRET, code, 1_000_000 + 30)
    assert not totp.verify(RFC_SECRET, code, 1_000_000 + 90)
    for junk in ("", "12345", "abcdef", "1234567", None):
        assert not totp.verify(RFC_SECRET, junk, 1_000_000)  # type: ignore[arg-type]


def test_enrolment_uri_carries_the_secret_for_the_app():
    secret = totp.new_secret()
    uri = urlparse(totp.otpauth_uri(secret, "poe"))
    assert uri.scheme == "otpauth" and uri.netloc == "totp" and uri.path == "/cp247:poe"
    assert parse_qs(uri.query)["secret"] == [secret]
