"""The one interface the send engine talks to. Implemented by SMTP and by the outbox folder."""

from __future__ import annotations

from typing import Protocol

from publisher.config import Settings, parse_smtp_url


class Mailer(Protocol):
    def send(self, *, envelope_from: str, recipient: str, message: bytes, message_id: str) -> str:
        """Hand one message over; return the server's reply. Raises a DeliveryError subclass."""

    def close(self) -> None: ...


def open_mailer(settings: Settings) -> Mailer:
    """SMTP when PUBLISHER_SMTP_URL is set, else .eml files in the outbox folder."""
    if settings.smtp_url:
        from publisher.deliver.smtp import SMTPMailer

        return SMTPMailer(parse_smtp_url(settings.smtp_url), timeout=settings.smtp_timeout)
    from publisher.deliver.outbox import OutboxMailer

    return OutboxMailer(settings.outbox_dir)
