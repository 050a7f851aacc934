"""Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30 s, 6 digits), as authenticator apps
expect them; stdlib only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

from cp247.validation import ascii_digits

STEP_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    """A random 160-bit secret in base32, the form authenticator apps take."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def code_at(secret: str, unix_time: float) -> str:
    counter = int(unix_time // STEP_SECONDS)
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def matching_step(secret: str, code: str, unix_time: float, window: int = 1) -> int | None:
    """The time step whose code ``code`` is (the current one or one step either side, for
    clock drift), compared safely; None if none. The step lets a caller refuse a code used
    before (RFC 6238 section 5.2)."""
    # ASCII digits only: compare_digest raises on other scripts' digits ("١٢٣٤٥٦"), a 500.
    if not ascii_digits(code) or len(code) != DIGITS:
        return None
    now = int(unix_time // STEP_SECONDS)
    found = None
    for step in range(now - window, now + window + 1):
        if hmac.compare_digest(code_at(secret, step * STEP_SECONDS), code):
            found = step
    return found


def verify(secret: str, code: str, unix_time: float, window: int = 1) -> bool:
    """True for the current code or one step either side (clock drift), compared safely."""
    return matching_step(secret, code, unix_time, window) is not None


def otpauth_uri(secret: str, username: str, issuer: str = "cp247") -> str:
    """The enrolment URI (shown as a QR code by a console, or typed into the app)."""
    label = quote(f"{issuer}:{username}", safe=":")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "digits": DIGITS, "period": STEP_SECONDS}
    )
    return f"otpauth://totp/{label}?{query}"
