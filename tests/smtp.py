"""A real SMTP server for tests (aiosmtpd on loopback) that keeps every message it accepts."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from tests.server import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        """The plain-text body, decoded, with the wire's CRLFs back to newlines."""
        return self.message.get_content().replace("\r\n", "\n")


@dataclass
class SmtpSink:
    port: int
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, seconds: float = 20) -> list[Received]:
        """Block until `count` messages have arrived (or fail after `seconds`)."""
        deadline = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.received) >= count, f"{len(self.received)} of {count} messages arrived in {seconds} s"
        return list(self.received)


@contextmanager
def smtp_sink(**smtp_options) -> Iterator[SmtpSink]:
    """Accept mail on 127.0.0.1 at a free port until the block ends; options go to aiosmtpd's SMTP."""
    sink = SmtpSink(free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, **smtp_options)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
