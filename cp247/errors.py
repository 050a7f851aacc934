"""Domain errors that every adapter maps the same way (HTTP status, CLI exit, RPC).

Their constructor arguments are plain data so that they survive an RPC hop unchanged.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of errors a caller can act on; never a crash."""

    code = "error"
    http_status = 400

    def __init__(
        self,
        message: str,
        fields: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message, fields or {}, extra or {})
        self.message = message
        self.fields: dict[str, Any] = fields or {}
        self.extra: dict[str, Any] = extra or {}

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        """The API's error body."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return body


class BadRequest(DomainError):
    code, http_status = "bad_request", 400


class PayloadTooLarge(DomainError):
    code, http_status = "payload_too_large", 413


class Unauthorized(DomainError):
    code, http_status = "unauthorized", 401


class Forbidden(DomainError):
    code, http_status = "forbidden", 403


class NotFound(DomainError):
    code, http_status = "not_found", 404


class Conflict(DomainError):
    code, http_status = "conflict", 409


class AlreadyExists(Conflict):
    code = "already_exists"


class Erased(DomainError):
    """Personal data that retention destroyed (crypto-shredding): gone for good."""

    code, http_status = "erased", 410


class UnsupportedMediaType(DomainError):
    code, http_status = "unsupported_media_type", 415


class TooManyAttempts(DomainError):
    code, http_status = "too_many_attempts", 429


class Invalid(DomainError):
    code, http_status = "validation_failed", 422


# Every domain error of this module, found rather than listed: nameko rebuilds an RPC's error
# by its registered path, and one left off a hand-kept list came back as a 500.
ALL: tuple[type[DomainError], ...] = tuple(
    cls
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, DomainError)
)
