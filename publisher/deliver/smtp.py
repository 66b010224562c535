"""SMTP delivery on one connection per batch, with replies mapped to what the ledger must do next."""

from __future__ import annotations

import smtplib
import ssl

from publisher.config import SMTPServer
from publisher.errors import (
    MailerUnavailableError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UnknownDeliveryError,
)


class SMTPMailer:
    def __init__(self, server: SMTPServer, *, timeout: float = 30.0):
        self.server = server
        self.timeout = timeout
        self._connection: smtplib.SMTP | None = None

    def send(self, *, envelope_from: str, recipient: str, message: bytes, message_id: str) -> str:
        connection = self._connect()
        try:
            code, reply = connection.mail(envelope_from)
            if code >= 300:
                connection.rset()
                raise _refusal(code, reply, f"sender {envelope_from} refused")
            code, reply = connection.rcpt(recipient)
            if code >= 300:
                connection.rset()
                raise _refusal(code, reply, f"recipient {recipient} refused")
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._connection = None
            raise TemporaryDeliveryError(f"connection lost before DATA: {exc}") from exc
        return self._data(connection, message)

    def _data(self, connection: smtplib.SMTP, message: bytes) -> str:
        try:
            code, reply = connection.data(message)
        except smtplib.SMTPDataError as exc:
            raise _refusal(exc.smtp_code, exc.smtp_error, "message refused") from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # The server may have queued the message before the line dropped: we cannot know.
            self._connection = None
            raise UnknownDeliveryError(f"connection lost during DATA: {exc}") from exc
        if code != 250:  # smtplib raises only when DATA itself is refused, not the message after it
            raise _refusal(code, reply, "message refused")
        return f"{code} {reply.decode('utf-8', 'replace')}"

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        s = self.server
        try:
            if s.security == "ssl":
                connection = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout,
                                              context=ssl.create_default_context())
            else:
                connection = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            connection.ehlo()
            if s.security == "starttls":
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if s.username:
                connection.login(s.username, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise MailerUnavailableError(f"SMTP login to {s.host}:{s.port} refused: {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise MailerUnavailableError(f"cannot use SMTP server {s.host}:{s.port}: {exc}") from exc
        self._connection = connection
        return connection

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (OSError, smtplib.SMTPException):
                pass  # the messages are already accepted; a rude goodbye changes nothing
            self._connection = None


def _refusal(code: int, reply: bytes | str, what: str) -> TemporaryDeliveryError | PermanentDeliveryError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"{what}: {code} {text}"
    if 400 <= code < 500:
        return TemporaryDeliveryError(message, code=code)
    return PermanentDeliveryError(message, code=code)
