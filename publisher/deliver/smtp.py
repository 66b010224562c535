"""SMTP delivery on one connection per batch, with replies mapped to what the ledger must do next."""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable

from publisher.config import SMTPServer
from publisher.errors import (
    MailerAuthError,
    MailerUnavailableError,
    MessageEncodingError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UnknownDeliveryError,
)

_ENVELOPE_BREAKERS = re.compile(r"[\x00-\x20<>\x7f]")
_LINE_START_DOT = re.compile(rb"\r\n\.")


class SMTPMailer:
    def __init__(self, server: SMTPServer, *, timeout: float = 30.0):
        self.server = server
        self.timeout = timeout
        self._connection: smtplib.SMTP | None = None

    def send(self, *, envelope_from: str, recipient: str, message: bytes, message_id: str,
             before_data: Callable[[], None] | None = None) -> str:
        """Raises MessageEncodingError, before anything is written, for a message this server cannot carry:
        a non-ASCII address (or UTF-8 header) needs SMTPUTF8 (RFC 6531)."""
        for address in (envelope_from, recipient):
            if _ENVELOPE_BREAKERS.search(address) or not address:
                raise MessageEncodingError(f"address {address!r} cannot go in an SMTP envelope")
        utf8 = not (envelope_from.isascii() and recipient.isascii() and message.isascii())
        connection = self._connect()
        if utf8 and not (connection.does_esmtp and connection.has_extn("smtputf8")):
            raise MessageEncodingError(
                f"{recipient!r} needs SMTPUTF8 (its address or headers are not ASCII), which SMTP server "
                f"{self.server.key} does not offer")
        try:
            self._envelope(connection, envelope_from, recipient, utf8=utf8)
            if before_data:
                self._call_before_data(before_data)
            # Dot-stuffing by hand: our messages are CRLF already (smtplib's regexes would cost half a
            # millisecond a message).
            connection.send(_dot_stuffed(message) + b".\r\n")
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # The final dot never left: the server cannot have accepted the message, a retry is safe.
            self._connection = None
            raise TemporaryDeliveryError(f"connection lost before the message was complete: {exc}") from exc
        try:
            code, reply = connection.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # The server may have queued the message before the line dropped: we cannot know.
            self._connection = None
            raise UnknownDeliveryError(f"connection lost after DATA: {exc}") from exc
        if code != 250:
            raise _refusal(code, reply, "message refused")
        return f"{code} {reply.decode('utf-8', 'replace')}"

    def _call_before_data(self, before_data: Callable[[], None]) -> None:
        try:
            before_data()
        except BaseException:
            # The server waits for a message we will not send: this session is over.
            self._connection.close()
            self._connection = None
            raise

    def _envelope(self, connection: smtplib.SMTP, sender: str, recipient: str, *, utf8: bool) -> None:
        """MAIL, RCPT and DATA, in one round trip where the server offers PIPELINING (RFC 2920).
        Raises the refusal of the first command refused, after putting the session back in order."""
        options = (" SMTPUTF8" + (" BODY=8BITMIME" if connection.has_extn("8bitmime") else "")) if utf8 else ""
        steps = [(f"mail FROM:<{sender}>{options}", f"sender {sender} refused"),
                 (f"rcpt TO:<{recipient}>", f"recipient {recipient} refused"),
                 ("data", "DATA refused")]
        encoding = "utf-8" if utf8 else "ascii"
        pipelined = connection.does_esmtp and connection.has_extn("pipelining")
        if pipelined:
            connection.send("".join(command + "\r\n" for command, _ in steps).encode(encoding))
        refusal = None
        for command, what in steps:
            if not pipelined:
                if refusal:
                    break
                connection.send((command + "\r\n").encode(encoding))
            code, reply = connection.getreply()
            expected = 354 if command == "data" else 250
            if code == 354 and refusal:
                connection.send(b".\r\n")  # a server that took DATA after refusing: end it empty
                connection.getreply()
            elif code != expected and refusal is None:
                refusal = _refusal(code, reply, what)
        if refusal:
            connection.rset()
            raise refusal

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
            raise MailerAuthError(f"SMTP login to {s.host}:{s.port} refused: {exc.smtp_code} "
                                  f"{exc.smtp_error.decode('utf-8', 'replace')}") from exc
        except (ssl.SSLError, smtplib.SMTPNotSupportedError) as exc:
            raise MailerAuthError(f"TLS with SMTP server {s.host}:{s.port} failed: {exc}") from exc
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


def _dot_stuffed(message: bytes) -> bytes:
    """RFC 5321 4.5.2: a line starting with "." gets another; the message is CRLF-terminated."""
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    # Ours have no line starting with "." (compose.message writes it "=2E"): a search tells, without a copy of
    # the ~80 KB (the regular expression scans twice as fast as `in` for this needle).
    stuffed = message.replace(b"\r\n.", b"\r\n..") if _LINE_START_DOT.search(message) else message
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def _refusal(code: int, reply: bytes | str, what: str) -> TemporaryDeliveryError | PermanentDeliveryError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"{what}: {code} {text}"
    if 400 <= code < 500:
        return TemporaryDeliveryError(message, code=code)
    return PermanentDeliveryError(message, code=code)
