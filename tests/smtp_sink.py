"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the tests
that follow a notice all the way to the requesting CP's mailbox."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.header import decode_header, make_header

from aiosmtpd.controller import Controller
from slice_driver import free_port


class Mailbox:
    """An aiosmtpd handler that keeps each message, and can refuse for a while."""

    def __init__(self) -> None:
        self.messages: list = []
        self.refuse_with: str | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.refuse_with:
            return self.refuse_with
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(make_header(decode_header(m["Subject"]))) for m in self.messages]

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m["To"]]


@contextmanager
def serving(box: Mailbox | None = None) -> Iterator[tuple[Mailbox, int]]:
    """The mailbox served on a free port: ``(mailbox, port)``."""
    box, port = box or Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
