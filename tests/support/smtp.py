"""A real SMTP server (aiosmtpd) that keeps every message it accepts, for counting what was received."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    # aiosmtpd's controller cannot bind port 0 (it probes the port it was given), so we pick one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    mail_options: tuple[str, ...] = ()

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)


class _Collector:
    def __init__(self, pipelining: bool):
        self.pipelining = pipelining
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        # Scripted refusals: recipient -> reply for RCPT, or for DATA; recipients whose DATA is cut off.
        self.rcpt_replies: dict[str, str] = {}
        self.data_replies: dict[str, str] = {}
        self.drop_after_data: set[str] = set()
        # Recipients whose message is kept as received, and then answered only once the event is set (or
        # never: the client dies waiting, between the server's acceptance and its own record of it).
        self.stalls: dict[str, threading.Event] = {}

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            # What Postfix, Exim and the big mailbox providers offer (RFC 2920); aiosmtpd reads pipelined
            # commands in order but does not announce it.
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        recipient = envelope.rcpt_tos[0]
        if recipient in self.drop_after_data:
            server.transport.close()  # the line drops after the message was sent: the client cannot know
            return "250 never seen"
        if recipient in self.data_replies:
            return self.data_replies[recipient]
        with self.lock:
            self.messages.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content,
                                          tuple(envelope.mail_options)))
        if recipient in self.stalls:
            while not self.stalls[recipient].is_set():
                await asyncio.sleep(0.02)
        return "250 Message accepted for delivery"


class SMTPSink:
    def __init__(self, *, smtputf8: bool = False, pipelining: bool = True):
        self._collector = _Collector(pipelining)
        self.port = free_port()
        self._controller = Controller(self._collector, hostname="127.0.0.1", port=self.port,
                                      enable_SMTPUTF8=smtputf8)

    def __enter__(self) -> SMTPSink:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release_stalls()
        self._controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[Received]:
        with self._collector.lock:
            return list(self._collector.messages)

    def refuse_rcpt(self, address: str, reply: str) -> None:
        self._collector.rcpt_replies[address] = reply

    def behave_normally(self, address: str) -> None:
        """Forget every scripted misbehaviour for a recipient (the fault was fixed)."""
        self._collector.rcpt_replies.pop(address, None)
        self._collector.data_replies.pop(address, None)
        self._collector.drop_after_data.discard(address)

    def refuse_data(self, address: str, reply: str) -> None:
        self._collector.data_replies[address] = reply

    def drop_after_data(self, address: str) -> None:
        self._collector.drop_after_data.add(address)

    def stall_after_data(self, address: str) -> threading.Event:
        """Keep this recipient's message as received but hold the 250 until the returned event is set."""
        event = self._collector.stalls[address] = threading.Event()
        return event

    def release_stalls(self) -> None:
        for event in self._collector.stalls.values():
            event.set()

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]
