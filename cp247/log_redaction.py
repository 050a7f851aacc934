"""No secrets in logs: access logs lose query strings (the duty alert acknowledgement link
carries its capability there) and anything that looks like a cp247 token is masked."""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"(/[^\s?\"]*)\?[^\s\"]*")
_TOKEN = re.compile(r"cp247_[A-Za-z0-9_-]{20,}")
ACCESS_LOGGERS = ("werkzeug", "nameko.web.server", "eventlet.wsgi.server")


def redact(text: str) -> str:
    return _TOKEN.sub("cp247_[redacted]", _QUERY.sub(r"\1?[redacted]", text))


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """Attach the filter to the access loggers (idempotent)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
