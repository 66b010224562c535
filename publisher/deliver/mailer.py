"""The one interface the send engine talks to, and how it is chosen: SMTP (one or several servers, with
weights, failover and rate limits) or the outbox folder."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol

from publisher.config import Settings, SMTPServer, parse_smtp_urls
from publisher.deliver.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter
from publisher.deliver.smtp import SMTPMailer
from publisher.errors import MailerAuthError, MailerUnavailableError


class Mailer(Protocol):
    def send(self, *, envelope_from: str, recipient: str, message: bytes, message_id: str,
             before_data: Callable[[], None] | None = None,
             while_waiting: Callable[[], None] | None = None,
             next_envelope: tuple[str, str] | None = None) -> str:
        """Hand one message over; return the server's reply. Raises a DeliveryError subclass.
        `before_data` is called once the server is ready for the message and before any of it is sent:
        until it returns, the message cannot have been accepted. `while_waiting` is called at most once,
        after the whole message has left and before the server's reply is read (the caller's work there
        overlaps the server's); it must not raise, or the reply to a message that may be accepted is lost.
        `next_envelope` (sender, recipient) names the message the caller sends next, which a mailer may
        prepare ahead (SMTP: its envelope goes out with this message); a different next message is fine."""

    def close(self) -> None: ...


_local_limiter = LocalRateLimiter()


def open_mailer(settings: Settings) -> Mailer:
    """SMTP when PUBLISHER_SMTP_URL is set, else .eml files in the outbox folder."""
    if settings.smtp_url:
        limiter = _local_limiter if settings.embedded else RedisRateLimiter(settings.broker_url)
        return FailoverMailer(parse_smtp_urls(settings.smtp_url), limiter=limiter, timeout=settings.smtp_timeout)
    from publisher.deliver.outbox import OutboxMailer

    return OutboxMailer(settings.outbox_dir)


class FailoverMailer:
    """Sends through one server at a time, picked by weight; a server that cannot be used is dropped for the
    rest of this batch and the next one takes over. Refusals of a message are not failures of the server."""

    def __init__(self, servers: list[SMTPServer], *, limiter: RateLimiter, timeout: float = 30.0):
        self._servers = [s for s in servers if s.weight > 0] or servers
        self._limiter = limiter
        self._timeout = timeout
        self._current = None
        self._down: dict[str, MailerUnavailableError] = {}

    def send(self, *, envelope_from: str, recipient: str, message: bytes, message_id: str,
             before_data: Callable[[], None] | None = None,
             while_waiting: Callable[[], None] | None = None,
             next_envelope: tuple[str, str] | None = None) -> str:
        while True:
            mailer = self._mailer()
            try:
                self._limiter.acquire(mailer.server)
                return mailer.send(envelope_from=envelope_from, recipient=recipient, message=message,
                                   message_id=message_id, before_data=before_data,
                                   while_waiting=while_waiting, next_envelope=next_envelope)
            except MailerUnavailableError as exc:
                self._down[mailer.server.key] = exc
                mailer.close()
                self._current = None

    def _mailer(self):
        if self._current is None:
            usable = [s for s in self._servers if s.key not in self._down]
            if not usable:
                raise self._all_down()
            server = random.choices(usable, weights=[s.weight for s in usable])[0]
            self._current = SMTPMailer(server, timeout=self._timeout)
        return self._current

    def _all_down(self) -> MailerUnavailableError:
        reasons = "; ".join(str(e) for e in self._down.values())
        if any(isinstance(e, MailerAuthError) for e in self._down.values()):
            return MailerAuthError(reasons)
        return MailerUnavailableError(reasons)

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
