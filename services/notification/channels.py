"""E-mail delivery of notifications over SMTP, with an outcome instead of exceptions.

Configuration (read by ``SmtpSettings.from_env``):

| variable              | meaning                                                            |
|-----------------------|--------------------------------------------------------------------|
| CP247_SMTP_HOST       | SMTP server host name or address; unset or empty: e-mail disabled  |
| CP247_SMTP_PORT       | default 25, 587 with starttls, 465 with tls                        |
| CP247_SMTP_SECURITY   | none (default), starttls or tls (implicit TLS, "SMTPS")             |
| CP247_SMTP_USERNAME   | with CP247_SMTP_PASSWORD, log in; both or neither                  |
| CP247_SMTP_PASSWORD   |                                                                    |
| CP247_SMTP_FROM       | sender address, required when the host is set                      |
| CP247_SMTP_FROM_NAME  | sender display name, e.g. "24/7 Contact Point Romania"             |
| CP247_SMTP_TIMEOUT    | seconds per network operation, default 30                          |

``SmtpChannel.send`` never raises for what the network or the server does: it returns an
``Outcome`` whose ``retry`` says whether trying again later can help (connection refused,
timeouts, 4xx replies) or not (5xx replies such as an unknown recipient, a bad address, a
configuration the server rejects). The caller schedules retries with ``backoff`` up to
``MAX_ATTEMPTS`` and then tells the duty officer (template ``delivery_failed``): the paper
found directory addresses that bounce, and a receipt that silently never arrives is the
failure this service exists to prevent.

The ``Message-ID`` is derived from the caller's ``message_id`` (e.g. the notice id), so a
message re-sent after a crash, or after a connection lost between the end of DATA and the
server's reply, carries the same id and the recipient's mail system can recognise the copy.

Stdlib only (``smtplib``), so the channel works the same in the eventlet-patched services and
in plain processes.
"""

from __future__ import annotations

import hashlib
import math
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import partial
from typing import Literal, get_args

from cp247.clock import utcnow
from cp247.config import ConfigurationError
from cp247.runtime import retry

__all__ = [
    "DEFAULT_PORTS",
    "DEFAULT_TIMEOUT",
    "MAX_ATTEMPTS",
    "SECURITY_MODES",
    "Outcome",
    "Security",
    "SmtpChannel",
    "SmtpSettings",
    "backoff",
    "message_id_header",
]

Security = Literal["none", "starttls", "tls"]
SECURITY_MODES: tuple[str, ...] = get_args(Security)
DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "tls": 465}
DEFAULT_TIMEOUT = 30.0

# Eight attempts with 30 s doubling (30 s, 1, 2, 4, 8, 16, 32 min) span about 63 minutes:
# enough to ride out a mail server restart, short enough that the duty officer learns of an
# undeliverable receipt within the hour and can telephone instead.
MAX_ATTEMPTS = 8

# Header fields this module sets itself; a caller's ``headers`` may not replace them, or a
# resend could carry a different Message-ID and defeat de-duplication.
_OWN_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "subject", "date", "message-id", "auto-submitted", "sender"}
)
# The body's own description; a caller's value would contradict what set_content wrote.
_CONTENT_HEADERS = frozenset(
    {"mime-version", "content-type", "content-transfer-encoding", "content-disposition"}
)
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 field name: printable ASCII except ':'
_ID_TEXT = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")  # safe in a msg-id, as it is
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_MAX_TIMEOUT = 600.0


# --- settings --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP server. ``password`` is left out of ``repr`` so that logging the
    settings never logs the secret."""

    host: str
    sender: str
    port: int = 25
    security: Security = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender_name: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        problem = _settings_problem(self)
        if problem:
            raise ConfigurationError(problem)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings | None:
        """Settings from ``CP247_SMTP_*`` in ``env`` (e.g. ``os.environ``), or ``None`` when
        ``CP247_SMTP_HOST`` is unset or empty: e-mail disabled, which the caller should log
        at start-up, since every receipt then stays a record only.

        Raises ``ConfigurationError`` naming the variable at fault.
        """

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else None

        host = get("CP247_SMTP_HOST")
        if host is None:
            return None

        security = (get("CP247_SMTP_SECURITY") or "none").lower()
        if security not in SECURITY_MODES:
            raise ConfigurationError(
                f"CP247_SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, not {security!r}"
            )
        sender = get("CP247_SMTP_FROM")
        if sender is None:
            raise ConfigurationError(
                "CP247_SMTP_FROM is required when CP247_SMTP_HOST is set, "
                "e.g. CP247_SMTP_FROM=cp247@police.example"
            )
        port_text = get("CP247_SMTP_PORT")
        port = DEFAULT_PORTS[security]
        if port_text is not None:
            try:
                port = int(port_text)
            except ValueError:
                raise ConfigurationError(
                    f"CP247_SMTP_PORT must be a whole number from 1 to 65535, not {port_text!r}"
                ) from None
        timeout = DEFAULT_TIMEOUT
        timeout_text = get("CP247_SMTP_TIMEOUT")
        if timeout_text is not None:
            try:
                timeout = float(timeout_text)
            except ValueError:
                raise ConfigurationError(
                    f"CP247_SMTP_TIMEOUT must be a number of seconds, not {timeout_text!r}"
                ) from None
        return cls(
            host=host,
            sender=sender,
            port=port,
            security=security,  # type: ignore[arg-type]  # checked against SECURITY_MODES
            username=get("CP247_SMTP_USERNAME"),
            # A password is taken as written: leading or trailing spaces may be part of it.
            password=env.get("CP247_SMTP_PASSWORD") or None,
            sender_name=get("CP247_SMTP_FROM_NAME"),
            timeout=timeout,
        )


def _settings_problem(settings: SmtpSettings) -> str | None:
    """What is wrong with ``settings``, worded for whoever sets the variables, or None."""
    host = settings.host
    if not host or any(c.isspace() or not c.isprintable() for c in host):
        return f"CP247_SMTP_HOST must be a host name or address, not {host!r}"
    if host.count(":") == 1:
        # smtplib would try to resolve "mail.example:587" as a name and fail on every attempt.
        return "CP247_SMTP_HOST must not include a port; put it in CP247_SMTP_PORT"
    if settings.security not in SECURITY_MODES:
        return f"CP247_SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}"
    if isinstance(settings.port, bool) or not 1 <= settings.port <= 65535:
        return f"CP247_SMTP_PORT must be a whole number from 1 to 65535, not {settings.port}"
    if not (math.isfinite(settings.timeout) and 0 < settings.timeout <= _MAX_TIMEOUT):
        return (
            f"CP247_SMTP_TIMEOUT must be more than 0 and at most {_MAX_TIMEOUT:g} seconds, "
            f"not {settings.timeout}"
        )
    if _address_problem(settings.sender) or not settings.sender.isascii():
        # ASCII only: an internationalised envelope sender needs SMTPUTF8, which many relays
        # between here and a foreign ministry do not offer.
        return f"CP247_SMTP_FROM must be a plain e-mail address, not {settings.sender!r}"
    if settings.sender_name is not None and not settings.sender_name.isprintable():
        return "CP247_SMTP_FROM_NAME must be one line of text"
    if bool(settings.username) != bool(settings.password):
        return "CP247_SMTP_USERNAME and CP247_SMTP_PASSWORD must be set together, or neither"
    if settings.username and settings.security == "none" and host not in _LOOPBACK_HOSTS:
        return (
            "CP247_SMTP_USERNAME is set but CP247_SMTP_SECURITY is none: the password would "
            "cross the network in clear; use starttls or tls"
        )
    return None


def _address_problem(address: object) -> str | None:
    """Why ``address`` is not a usable addr-spec, or None. Deliberately plain: display names,
    comments and quoted local parts are not accepted, so what is sent is what was checked."""
    if not isinstance(address, str) or not address:
        return "empty address"
    if any(c.isspace() or not c.isprintable() or c in '<>,;"()[]\\' for c in address):
        return f"{address!r} contains spaces or characters not allowed in an address"
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "@" in local:
        return f"{address!r} is not of the form name@domain"
    if domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return f"{address!r} has a malformed domain"
    return None


def _ascii_domain(address: str) -> str:
    """``address`` with an internationalised domain in its ASCII (IDNA) form: that needs no
    SMTPUTF8 from the server, which many do not offer. A non-ASCII local part still does."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    return f"{local}@{domain.encode('idna').decode('ascii')}"


# --- outcome and scheduling ------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What one ``send`` achieved.

    ``ok``: the server accepted the message for at least one recipient. ``retry`` (only when
    not ok): trying again later may succeed. ``error``: what went wrong, for the record and for
    the ``delivery_failed`` notice. ``code``: the SMTP reply code when there was one.
    ``refused``: recipients the server refused while accepting others (ok is then true: the
    message went out, and re-sending it would give the others a copy; a caller may re-send to
    these alone).
    """

    ok: bool
    retry: bool = False
    error: str | None = None
    code: int | None = None
    refused: tuple[str, ...] = ()


# 30 s, 1 min, 2 min, 4 min ... capped at one hour (the shared back-off, from 30 s).
backoff = partial(retry.backoff, base=30.0)


# --- sending ---------------------------------------------------------------------------------
class SmtpChannel:
    """Sends one e-mail per ``send`` call over a fresh connection.

    A connection per message keeps the channel stateless: notices are rare (a few an hour), and
    a pooled connection the server dropped overnight would only add a failure mode.
    """

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def build_message(
        self,
        to: Sequence[str],
        subject: str,
        body: str,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> EmailMessage:
        """The message ``send`` would send. Raises ``ValueError`` for a caller's mistake: a
        subject with a line break, or a header that is malformed or one this module owns."""
        if any(c in subject for c in "\r\n"):
            raise ValueError("the subject must be one line")
        settings = self.settings
        message = EmailMessage()
        message["From"] = Address(
            display_name=settings.sender_name or "", addr_spec=settings.sender
        )
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = message_id_header(message_id, settings.sender)
        # RFC 3834: tells auto-responders (out-of-office, vacation) not to answer, so a foreign
        # CP's absence notice does not come back as mail nobody reads.
        message["Auto-Submitted"] = "auto-generated"
        # Quoted-printable keeps the body readable in the raw message and safe over relays
        # that do not offer 8BITMIME. Set before the caller's headers: set_content drops every
        # Content-* header already there (a caller's Content-Language would vanish).
        message.set_content(body, charset="utf-8", cte="quoted-printable")
        for name, value in (headers or {}).items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if name.lower() in _OWN_HEADERS or name.lower() in _CONTENT_HEADERS:
                raise ValueError(f"the {name} header is set by the channel, not by the caller")
            message[name] = value  # email refuses values with line breaks (ValueError)
        return message

    def send(
        self,
        to: Sequence[str],
        subject: str,
        body: str,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> Outcome:
        """Send one message to ``to``; never raises for what the network or server does.

        Raises ``TypeError``/``ValueError`` only for a caller's mistakes (see
        ``build_message``); a malformed recipient address is data, not a bug (directory
        entries are typed by people), so it is a permanent failure ``Outcome``.
        """
        if isinstance(to, str):
            raise TypeError("to is a list of addresses, not one string")
        recipients = list(to)
        if not recipients:
            return Outcome(ok=False, retry=False, error="no recipient address")
        for address in recipients:
            problem = _address_problem(address)
            if problem:
                return Outcome(ok=False, retry=False, error=f"invalid recipient: {problem}")
        try:
            recipients = [_ascii_domain(address) for address in recipients]
        except UnicodeError:
            return Outcome(ok=False, retry=False, error="invalid recipient: bad domain name")
        message = self.build_message(recipients, subject, body, message_id, headers)
        client: smtplib.SMTP | None = None
        try:
            client = self._connect()
            refused = client.send_message(
                message, from_addr=self.settings.sender, to_addrs=recipients
            )
        except smtplib.SMTPRecipientsRefused as error:
            return _all_refused(error.recipients)
        except smtplib.SMTPResponseException as error:
            # Sender refused, data refused, greeting or HELO refused, authentication failed.
            return _by_code(error.smtp_code, error.smtp_error, type(error).__name__)
        except smtplib.SMTPServerDisconnected as error:
            return Outcome(ok=False, retry=True, error=f"server disconnected: {error}")
        except smtplib.SMTPException as error:
            # E.g. STARTTLS or SMTPUTF8 not offered, no usable AUTH method: the configuration
            # or the address must change; retrying the same thing cannot help.
            return Outcome(ok=False, retry=False, error=f"{type(error).__name__}: {error}")
        except ssl.SSLCertVerificationError as error:
            # A certificate that does not verify will not start verifying; someone must look.
            return Outcome(ok=False, retry=False, error=f"TLS certificate not trusted: {error}")
        except OSError as error:
            # Refused, reset, unreachable, DNS failure, timeout, TLS handshake cut short.
            return Outcome(ok=False, retry=True, error=f"{type(error).__name__}: {error}")
        finally:
            if client is not None:
                _close(client)
        if refused:
            return Outcome(
                ok=True,
                error="refused: " + "; ".join(_reply(a, c, t) for a, (c, t) in refused.items()),
                refused=tuple(refused),
            )
        return Outcome(ok=True)

    def _connect(self) -> smtplib.SMTP:
        """An open connection, secured and logged in as configured."""
        settings = self.settings
        if settings.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        try:
            if settings.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.username and settings.password:
                client.login(settings.username, settings.password)
        except BaseException:
            _close(client)
            raise
        return client


def message_id_header(message_id: str, sender: str) -> str:
    """``<id@sender-domain>``: the same ``message_id`` always gives the same header. An id
    with characters a msg-id may not hold is replaced by its SHA-256 (still deterministic)."""
    if not message_id:
        raise ValueError("a message id is required, e.g. the notice id")
    token = message_id if _ID_TEXT.fullmatch(message_id) and len(message_id) <= 128 else None
    if token is None:
        token = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:40]
    return f"<{token}@{sender.rpartition('@')[2]}>"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _reply(address: str, code: int, text: bytes | str) -> str:
    return f"{address}: {code} {_text(text)}"


def _by_code(code: int, text: bytes | str, kind: str) -> Outcome:
    """5xx is permanent (RFC 5321 4.2.1); 4xx and anything odd (smtplib's -1 for a
    connection closed mid-reply) may pass."""
    return Outcome(
        ok=False, retry=not 500 <= code <= 599, error=f"{kind}: {code} {_text(text)}", code=code
    )


def _all_refused(recipients: Mapping[str, tuple[int, bytes]]) -> Outcome:
    """Every recipient refused: worth retrying while any refusal was temporary (those may be
    accepted later; the permanent ones are refused again, harmlessly)."""
    codes = [code for code, _ in recipients.values()]
    temporary = [code for code in codes if not 500 <= code <= 599]
    return Outcome(
        ok=False,
        retry=bool(temporary),
        error="recipient refused: "
        + "; ".join(_reply(a, c, t) for a, (c, t) in recipients.items()),
        code=(temporary or codes or [None])[0],
    )


def _close(client: smtplib.SMTP) -> None:
    """QUIT politely, or just drop the connection: once the message is accepted, a server that
    fumbles the goodbye must not turn a delivery into a failure (and a duplicate)."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
