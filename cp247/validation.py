"""Checks of input, in one place: marshmallow error messages in the API's shape, patterns that
match the whole value, and numbers of ASCII digits only.

``re.match`` with ``^...$`` (what marshmallow's ``Regexp`` does) lets a trailing newline
through, since ``$`` also matches before a final ``"\\n"``: ``"US\\n"`` was a country of its
own, so a duplicate request passed as new. ``str.isdigit()`` is true of ``"²"``, which
``int()`` refuses, and of ``"٣"``, which it reads: a person's number is ASCII digits here.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, validate

COUNTRY_CODE = r"[A-Z]{2}"  # ISO 3166-1 alpha-2
EMAIL_ADDRESS = r"[^@\s]+@[^@\s]+\.[^@\s]+"
# A cp247 login (users, and the duty roster's people); used with fullmatch: a "$"-anchored
# match would let a trailing "\n" through.
USERNAME = r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}"  # loose on purpose: one @, no spaces, a dot after
_ASCII_DIGITS = re.compile(r"[0-9]+")
MAX_DIGITS = 18  # a count or a port, never a long number (int() refuses 4300+ digits anyway)


class FullMatch(validate.Regexp):
    """A marshmallow pattern validator that must match the whole value (``re.fullmatch``).

    Write the pattern without anchors; ``example`` is a value it accepts (the tests check
    that the example with a newline after it is refused). The compiled pattern keeps
    ``^...$`` for the OpenAPI document, where JSON Schema searches a pattern anywhere.
    """

    def __init__(self, pattern: str, *, example: str, error: str | None = None):
        body = f"(?:{pattern})" if "|" in pattern else pattern
        super().__init__(f"^{body}$", error=error)
        self.example = example

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def country_code(error: str = "an ISO 3166-1 alpha-2 code, e.g. RO") -> FullMatch:
    """The validator of a country code: two capital ASCII letters, nothing before or after."""
    return FullMatch(COUNTRY_CODE, example="RO", error=error)


def email_address(error: str | None = None) -> FullMatch:
    """The validator of an e-mail address, as loose as the directory's own check."""
    return FullMatch(EMAIL_ADDRESS, example="cp247@police.example.ro", error=error)


def ascii_digits(text: object) -> bool:
    """True for one to :data:`MAX_DIGITS` ASCII digits and nothing else (no sign, space,
    underscore, newline or digit of another script)."""
    return (
        isinstance(text, str)
        and len(text) <= MAX_DIGITS
        and _ASCII_DIGITS.fullmatch(text) is not None
    )


def parse_ascii_int(text: object) -> int | None:
    """The whole number written in ASCII digits (see :func:`ascii_digits`), else None."""
    return int(text) if isinstance(text, str) and ascii_digits(text) else None


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict as ``{"path.to.field": ["..."]}``."""
    if not isinstance(messages, dict):
        items = messages if isinstance(messages, list) else [messages]
        return {prefix or "_schema": [str(m) for m in items]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        flat.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat
