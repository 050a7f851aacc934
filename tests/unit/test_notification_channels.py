"""The SMTP channel against a real SMTP server on loopback (aiosmtpd), and its settings.

The server is real so that what is tested is what smtplib does on the wire: the reply codes,
the refusals, a closed port. STARTTLS and implicit TLS would need certificates; for them only
the settings are checked, plus the one property that needs no certificate: a server that does
not offer STARTTLS gets nothing in clear.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from cp247.config import ConfigurationError
from services.notification.channels import (
    MAX_ATTEMPTS,
    Outcome,
    SmtpChannel,
    SmtpSettings,
    backoff,
    message_id_header,
)

SENDER = "cp247@police.example"
SUBJECT = "Accusé de réception - votre réf. BKA-7781 - notre réf. RO-2024-0042"
BODY = "Madame, Monsieur,\n\nNous accusons réception de votre demande (reçue à 14:05 UTC).\n"


def free_port() -> int:
    """A port nothing listens on (bound, read, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Handler:
    """Collects what arrives; ``rcpt_reply``/``data_reply`` make the server refuse instead,
    and ``refuse`` refuses single recipients."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_reply: str | None = None
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_reply:
            return self.data_reply
        assert isinstance(envelope.content, bytes)
        self.received.append((str(envelope.mail_from), list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@dataclass
class Server:
    handler: Handler
    port: int

    def channel(self, **overrides: Any) -> SmtpChannel:
        settings: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "sender": SENDER,
            "sender_name": "Point de contact 24/7 – Roumanie",
            "timeout": 2.0,
        }
        return SmtpChannel(SmtpSettings(**(settings | overrides)))


@pytest.fixture
def server() -> Iterator[Server]:
    handler = Handler()
    # Without SMTPUTF8, like many relays between us and a foreign ministry.
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=False)
    controller.start()
    try:
        yield Server(handler, controller.port)
    finally:
        controller.stop()


def parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


# --- delivery --------------------------------------------------------------------------------
def test_a_message_is_delivered_with_its_headers_and_utf8_text(server: Server) -> None:
    outcome = server.channel().send(
        ["cp@foreign.example"],
        SUBJECT,
        BODY,
        "6f1c7d1e-0b7e-5a52-9d2c-3a8e1f0c4b11",
        {"Content-Language": "fr", "X-CP247-Case": "case-1"},
    )

    assert outcome == Outcome(ok=True, retry=False, error=None)
    [(mail_from, rcpt_tos, raw)] = server.handler.received
    assert (mail_from, rcpt_tos) == (SENDER, ["cp@foreign.example"])
    message = parse(raw)
    assert message["Subject"] == SUBJECT
    assert message["From"].addresses[0].display_name == "Point de contact 24/7 – Roumanie"
    assert message["From"].addresses[0].addr_spec == SENDER
    assert message["To"] == "cp@foreign.example"
    assert message["Message-ID"] == "<6f1c7d1e-0b7e-5a52-9d2c-3a8e1f0c4b11@police.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "fr"
    assert message["X-CP247-Case"] == "case-1"
    assert message["Date"].datetime.utcoffset().total_seconds() == 0
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().replace("\r\n", "\n") == BODY  # CRLF on the wire
    # On the wire the headers are 7-bit: the accents travel as RFC 2047 encoded words.
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and b"=?utf-8?" in head


def test_a_resend_carries_the_same_message_id(server: Server) -> None:
    channel = server.channel()
    for message_id in ("notice-1", "notice-1", "notice-2"):
        assert channel.send(["cp@foreign.example"], "S", "B\n", message_id).ok
    ids = [parse(raw)["Message-ID"] for _, _, raw in server.handler.received]
    assert ids == ["<notice-1@police.example>"] * 2 + ["<notice-2@police.example>"]


def test_several_recipients_get_one_message(server: Server) -> None:
    to = ["cp@foreign.example", "desk@foreign.example"]
    assert server.channel().send(to, "S", "B\n", "m").ok
    [(_, rcpt_tos, raw)] = server.handler.received
    assert rcpt_tos == to
    assert parse(raw)["To"] == "cp@foreign.example, desk@foreign.example"


# --- failures --------------------------------------------------------------------------------
def test_server_down_is_worth_retrying() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), sender=SENDER, timeout=2.0)
    outcome = SmtpChannel(settings).send(["cp@foreign.example"], "S", "B\n", "m")
    assert (outcome.ok, outcome.retry) == (False, True)
    assert outcome.error and "refused" in outcome.error.lower()


def test_a_server_that_never_answers_times_out_and_is_retried() -> None:
    # A listening socket nobody accepts from: the TCP handshake completes, no greeting comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        settings = SmtpSettings(
            host="127.0.0.1", port=silent.getsockname()[1], sender=SENDER, timeout=0.3
        )
        started = time.monotonic()
        outcome = SmtpChannel(settings).send(["cp@foreign.example"], "S", "B\n", "m")
    assert (outcome.ok, outcome.retry) == (False, True)
    assert outcome.error and "timed out" in outcome.error
    assert time.monotonic() - started < 2


def test_server_busy_then_recovers(server: Server) -> None:
    """451 (try later) -> retry; once the server accepts, the same message goes through."""
    channel = server.channel()
    server.handler.rcpt_reply = "451 4.3.0 Mail server temporarily busy"

    first = channel.send(["cp@foreign.example"], SUBJECT, BODY, "receipt-1")

    assert (first.ok, first.retry, first.code) == (False, True, 451)
    assert first.error and "temporarily busy" in first.error
    assert server.handler.received == []

    server.handler.rcpt_reply = None
    second = channel.send(["cp@foreign.example"], SUBJECT, BODY, "receipt-1")

    assert second == Outcome(ok=True)
    [(_, _, raw)] = server.handler.received
    assert parse(raw)["Message-ID"] == "<receipt-1@police.example>"


def test_a_temporary_failure_after_the_data_is_retried(server: Server) -> None:
    server.handler.data_reply = "452 4.3.1 Insufficient system storage"
    outcome = server.channel().send(["cp@foreign.example"], "S", "B\n", "m")
    assert (outcome.ok, outcome.retry, outcome.code) == (False, True, 452)


def test_recipient_refused_for_good_is_not_retried(server: Server) -> None:
    server.handler.rcpt_reply = "550 5.1.1 No such user here"
    outcome = server.channel().send(["gone@foreign.example"], "S", "B\n", "m")
    assert (outcome.ok, outcome.retry, outcome.code) == (False, False, 550)
    assert outcome.error and "gone@foreign.example" in outcome.error and "550" in outcome.error
    assert server.handler.received == []


def test_a_message_refused_for_good_is_not_retried(server: Server) -> None:
    server.handler.data_reply = "554 5.7.1 Message rejected as spam"
    outcome = server.channel().send(["cp@foreign.example"], "S", "B\n", "m")
    assert (outcome.ok, outcome.retry, outcome.code) == (False, False, 554)


def test_one_recipient_refused_among_several_is_a_delivery(server: Server) -> None:
    server.handler.refuse["gone@foreign.example"] = "550 5.1.1 No such user here"
    outcome = server.channel().send(["cp@foreign.example", "gone@foreign.example"], "S", "B\n", "m")
    assert (outcome.ok, outcome.refused) == (True, ("gone@foreign.example",))
    assert outcome.error and "550" in outcome.error
    [(_, rcpt_tos, _)] = server.handler.received
    assert rcpt_tos == ["cp@foreign.example"]


def test_an_internationalised_domain_is_sent_in_ascii(server: Server) -> None:
    # The test server does not offer SMTPUTF8: the domain must travel as IDNA.
    assert server.channel().send(["cp@pólice.example"], "S", "B\n", "m").ok
    [(_, rcpt_tos, raw)] = server.handler.received
    assert rcpt_tos == ["cp@xn--plice-0ta.example"]
    assert parse(raw)["To"] == "cp@xn--plice-0ta.example"


def test_a_non_ascii_mailbox_needs_smtputf8_and_fails_for_good_without(server: Server) -> None:
    outcome = server.channel().send(["josé@foreign.example"], "S", "B\n", "m")
    assert (outcome.ok, outcome.retry) == (False, False)
    assert outcome.error and "SMTPUTF8" in outcome.error


def test_starttls_not_offered_means_nothing_is_sent_in_clear(server: Server) -> None:
    # aiosmtpd without a TLS context does not offer STARTTLS: no silent downgrade.
    outcome = server.channel(security="starttls").send(["cp@foreign.example"], "S", "B\n", "m")
    assert (outcome.ok, outcome.retry) == (False, False)
    assert outcome.error and "STARTTLS" in outcome.error
    assert server.handler.received == []


@pytest.mark.parametrize(
    "to", [[], ["not-an-address"], ["a@b.example", "two words@b.example"], ["x@y..example"]]
)
def test_bad_recipient_addresses_fail_for_good_without_a_connection(to: list[str]) -> None:
    # A closed port: had the channel tried to connect, the error would say "refused".
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), sender=SENDER)
    outcome = SmtpChannel(settings).send(to, "S", "B\n", "m")
    assert (outcome.ok, outcome.retry) == (False, False)
    assert outcome.error and "refused" not in outcome.error.lower()


def test_callers_mistakes_raise() -> None:
    channel = SmtpChannel(SmtpSettings(host="127.0.0.1", sender=SENDER))
    with pytest.raises(TypeError):
        channel.send("cp@foreign.example", "S", "B\n", "m")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one line"):
        channel.send(["cp@foreign.example"], "S\r\nBcc: x@y.example", "B\n", "m")
    with pytest.raises(ValueError, match="Message-ID"):
        channel.send(["cp@foreign.example"], "S", "B\n", "m", {"Message-ID": "<other@x>"})
    with pytest.raises(ValueError, match="Content-Type"):
        channel.send(["cp@foreign.example"], "S", "B\n", "m", {"Content-Type": "text/html"})
    with pytest.raises(ValueError):
        channel.send(["cp@foreign.example"], "S", "B\n", "m", {"X-Note": "a\r\nBcc: x@y.example"})
    with pytest.raises(ValueError, match="message id"):
        channel.send(["cp@foreign.example"], "S", "B\n", "")


def test_message_id_is_deterministic_and_always_valid() -> None:
    assert message_id_header("abc.123_x-y", SENDER) == "<abc.123_x-y@police.example>"
    unsafe = message_id_header("receipt|RO 42 <é>", SENDER)
    assert unsafe == message_id_header("receipt|RO 42 <é>", SENDER)
    assert unsafe != message_id_header("receipt|RO 43 <é>", SENDER)
    local = unsafe[1:-1].split("@")[0]
    assert local.isalnum() and len(local) == 40


# --- back-off --------------------------------------------------------------------------------
def test_backoff_doubles_from_30_seconds_up_to_an_hour() -> None:
    assert [backoff(n) for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert backoff(10_000) == 3600
    with pytest.raises(ValueError):
        backoff(0)


def test_the_attempts_span_about_an_hour() -> None:
    waited = sum(backoff(n) for n in range(1, MAX_ATTEMPTS))
    assert 45 * 60 <= waited <= 2 * 3600


# --- settings --------------------------------------------------------------------------------
def test_no_host_means_email_disabled() -> None:
    assert SmtpSettings.from_env({}) is None
    assert SmtpSettings.from_env({"CP247_SMTP_HOST": "  "}) is None


def test_defaults_from_env() -> None:
    settings = SmtpSettings.from_env(
        {"CP247_SMTP_HOST": "mail.police.example", "CP247_SMTP_FROM": SENDER}
    )
    assert settings == SmtpSettings(
        host="mail.police.example",
        sender=SENDER,
        port=25,
        security="none",
        username=None,
        password=None,
        sender_name=None,
        timeout=30.0,
    )


@pytest.mark.parametrize(
    ("security", "port"), [("none", 25), ("starttls", 587), ("STARTTLS", 587), ("tls", 465)]
)
def test_default_port_follows_security(security: str, port: int) -> None:
    env = {"CP247_SMTP_HOST": "mail.example", "CP247_SMTP_FROM": SENDER}
    settings = SmtpSettings.from_env(env | {"CP247_SMTP_SECURITY": security})
    assert settings is not None
    assert (settings.security, settings.port) == (security.lower(), port)


def test_every_setting_from_env() -> None:
    settings = SmtpSettings.from_env(
        {
            "CP247_SMTP_HOST": "smtp.gov.example",
            "CP247_SMTP_PORT": "2525",
            "CP247_SMTP_SECURITY": "starttls",
            "CP247_SMTP_USERNAME": "cp247",
            "CP247_SMTP_PASSWORD": " s3cret ",
            "CP247_SMTP_FROM": SENDER,
            "CP247_SMTP_FROM_NAME": "Point de contact 24/7",
            "CP247_SMTP_TIMEOUT": "12.5",
        }
    )
    assert settings is not None
    assert (settings.host, settings.port, settings.security) == (
        "smtp.gov.example",
        2525,
        "starttls",
    )
    assert (settings.username, settings.password) == ("cp247", " s3cret ")
    assert (settings.sender, settings.sender_name, settings.timeout) == (
        SENDER,
        "Point de contact 24/7",
        12.5,
    )
    assert "s3cret" not in repr(settings)


BASE = {"CP247_SMTP_HOST": "mail.example", "CP247_SMTP_FROM": SENDER}


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"CP247_SMTP_FROM": ""}, "CP247_SMTP_FROM"),
        ({"CP247_SMTP_FROM": "not-an-address"}, "CP247_SMTP_FROM"),
        ({"CP247_SMTP_FROM": "Name <cp@x.example>"}, "CP247_SMTP_FROM"),
        ({"CP247_SMTP_FROM": "cp@pólice.example"}, "CP247_SMTP_FROM"),
        ({"CP247_SMTP_SECURITY": "ssl"}, "CP247_SMTP_SECURITY"),
        ({"CP247_SMTP_PORT": "smtp"}, "CP247_SMTP_PORT"),
        ({"CP247_SMTP_PORT": "0"}, "CP247_SMTP_PORT"),
        ({"CP247_SMTP_PORT": "65536"}, "CP247_SMTP_PORT"),
        ({"CP247_SMTP_HOST": "mail.example:587"}, "CP247_SMTP_HOST"),
        ({"CP247_SMTP_HOST": "mail example"}, "CP247_SMTP_HOST"),
        ({"CP247_SMTP_TIMEOUT": "soon"}, "CP247_SMTP_TIMEOUT"),
        ({"CP247_SMTP_TIMEOUT": "0"}, "CP247_SMTP_TIMEOUT"),
        ({"CP247_SMTP_TIMEOUT": "nan"}, "CP247_SMTP_TIMEOUT"),
        ({"CP247_SMTP_TIMEOUT": "3601"}, "CP247_SMTP_TIMEOUT"),
        ({"CP247_SMTP_FROM_NAME": "CP\r\nBcc: x@y.example"}, "CP247_SMTP_FROM_NAME"),
        ({"CP247_SMTP_USERNAME": "cp247", "CP247_SMTP_SECURITY": "tls"}, "CP247_SMTP_PASSWORD"),
        ({"CP247_SMTP_PASSWORD": "pw", "CP247_SMTP_SECURITY": "tls"}, "CP247_SMTP_USERNAME"),
        # Credentials in clear to a remote server: refused, whatever the port.
        ({"CP247_SMTP_USERNAME": "cp247", "CP247_SMTP_PASSWORD": "pw"}, "CP247_SMTP_SECURITY"),
    ],
)
def test_bad_settings_name_the_variable(changes: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        SmtpSettings.from_env(BASE | changes)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_credentials_are_accepted_over_tls(security: str) -> None:
    settings = SmtpSettings.from_env(
        BASE
        | {
            "CP247_SMTP_SECURITY": security,
            "CP247_SMTP_USERNAME": "cp247",
            "CP247_SMTP_PASSWORD": "pw",
        }
    )
    assert settings is not None and settings.username == "cp247"


def test_credentials_in_clear_only_to_a_local_relay() -> None:
    local = BASE | {
        "CP247_SMTP_HOST": "localhost",
        "CP247_SMTP_USERNAME": "cp247",
        "CP247_SMTP_PASSWORD": "pw",
    }
    assert SmtpSettings.from_env(local) is not None


def test_settings_made_directly_are_checked_too() -> None:
    with pytest.raises(ConfigurationError, match="CP247_SMTP_PORT"):
        SmtpSettings(host="mail.example", sender=SENDER, port=0)
    with pytest.raises(ConfigurationError, match="CP247_SMTP_SECURITY"):
        SmtpSettings(host="mail.example", sender=SENDER, security="ssl")  # type: ignore[arg-type]
