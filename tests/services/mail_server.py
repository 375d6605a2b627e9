"""A real SMTP server for the mail tests (aiosmtpd on 127.0.0.1) and the settings that point the app at it.

The handler records every accepted message parsed with `email.policy.default`, and can be told to answer
DATA with another reply, refuse some recipients, or take its time, so the tests see what a real relay does.
"""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

import services.platform.config
from services.platform.config import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class RecordingHandler:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.data_reply = "250 OK"
        self.next_replies: list[str] = []  # answers to the next DATA commands, before data_reply again
        self.refused: set[str] = set()
        self.delay = 0.0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:
        if address.lower() in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            reply = self.next_replies.pop(0) if self.next_replies else self.data_reply
        if reply.startswith("250"):
            parsed = email.message_from_bytes(envelope.content, policy=default_policy)
            with self.lock:
                self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return reply


class SmtpServer:
    """aiosmtpd on a free port of 127.0.0.1; `stop()` and `start()` again on the same port to simulate an outage."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = RecordingHandler()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, server_hostname="localhost")
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def message_ids(self) -> Counter[str]:
        return Counter(r.message_id for r in self.received)


@contextmanager
def running_server(*, started: bool = True) -> Iterator[SmtpServer]:
    server = SmtpServer()
    if started:
        server.start()
    try:
        yield server
    finally:
        server.stop()


def mail_env(port: int, **values: object) -> dict[str, str]:
    """FOLLOWUP_* variables for a plain (no TLS, no login) local relay on `port`, plus `values`."""
    env = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "mail_retry_seconds": 30,
        "mail_from": "noreply@followup.example.com",
    } | values
    return {f"FOLLOWUP_{k.upper()}": str(v) for k, v in env.items()}


def configure_mail(monkeypatch: pytest.MonkeyPatch, port: int, **values: object) -> Settings:
    """Point the process-wide settings at the local relay (queue_mail and backoff read them) and return them."""
    for name, value in mail_env(port, **values).items():
        monkeypatch.setenv(name, value)
    services.platform.config.get_settings.cache_clear()
    return services.platform.config.get_settings()


def unconfigure_mail(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with no mail server at all."""
    monkeypatch.delenv("FOLLOWUP_SMTP_HOST", raising=False)
    services.platform.config.get_settings.cache_clear()
    return services.platform.config.get_settings()
