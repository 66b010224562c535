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
        # The envelope written after the last message's final dot, its replies not read yet (see `send`).
        self._announced: tuple[str, str] | None = None

    def send(self, *, envelope_from: str, recipient: str, message: bytes, message_id: str,
             before_data: Callable[[], None] | None = None,
             while_waiting: Callable[[], None] | None = None,
             next_envelope: tuple[str, str] | None = None) -> str:
        """Raises MessageEncodingError, before anything is written, for a message this server cannot carry:
        a non-ASCII address (or UTF-8 header) needs SMTPUTF8 (RFC 6531).

        `next_envelope` (sender, recipient) of the message that comes next on this connection: where the
        server offers PIPELINING, its MAIL, RCPT and DATA go out right behind this message's final dot (RFC
        2920 3.1: message content may start a group), so the next message finds the server ready instead of
        waiting a round trip for it. Its content still waits for `before_data`."""
        for address in (envelope_from, recipient):
            if not _fits_envelope(address):
                raise MessageEncodingError(f"address {address!r} cannot go in an SMTP envelope")
        utf8 = not (envelope_from.isascii() and recipient.isascii() and message.isascii())
        announced = self._announced == (envelope_from, recipient) and not utf8
        if self._announced and not announced:
            self._abandon()
        connection = self._connect()
        if utf8 and not (connection.does_esmtp and connection.has_extn("smtputf8")):
            raise MessageEncodingError(
                f"{recipient!r} needs SMTPUTF8 (its address or headers are not ASCII), which SMTP server "
                f"{self.server.key} does not offer")
        self._announced = None
        steps = _envelope_steps(connection, envelope_from, recipient, utf8=utf8)
        following = self._announcement(connection, next_envelope)
        try:
            self._envelope(connection, steps, written=announced)
            if before_data:
                self._call_before_data(before_data)
            # Dot-stuffing by hand: our messages are CRLF already (smtplib's regexes would cost half a
            # millisecond a message).
            connection.send(_dot_stuffed(message) + b".\r\n" + following)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # The final dot never left: the server cannot have accepted the message, a retry is safe.
            self._connection = None
            raise TemporaryDeliveryError(f"connection lost before the message was complete: {exc}") from exc
        self._announced = next_envelope if following else None
        if while_waiting:
            while_waiting()  # the server reads, checks and queues ~80 KB meanwhile
        try:
            code, reply = connection.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # The server may have queued the message before the line dropped: we cannot know.
            self._connection, self._announced = None, None
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

    @staticmethod
    def _announcement(connection: smtplib.SMTP, envelope: tuple[str, str] | None) -> bytes:
        """The commands of the next envelope, when there is one we may write ahead: plain ASCII addresses
        (SMTPUTF8 depends on the message, not built yet) on a server that pipelines."""
        if not (envelope and _pipelines(connection) and all(a.isascii() and _fits_envelope(a) for a in envelope)):
            return b""
        sender, recipient = envelope
        return _commands(_envelope_steps(connection, sender, recipient, utf8=False))

    def _abandon(self) -> None:
        """An envelope was written ahead for a message that is not coming (it failed to build, or the batch
        stopped). Its DATA may have put the server in the middle of a message, which only its final dot or
        the end of the connection can close: the connection ends, and the message without its dot is
        discarded (RFC 5321 4.1.1.4). The next send connects afresh."""
        self._announced = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _envelope(self, connection: smtplib.SMTP, steps: list[tuple[str, str]], *, written: bool) -> None:
        """MAIL, RCPT and DATA, in one round trip where the server offers PIPELINING (RFC 2920), or already
        `written` behind the previous message. Raises the refusal of the first command refused, after putting
        the session back in order."""
        pipelined = _pipelines(connection)
        if pipelined and not written:
            connection.send(_commands(steps))
        refusal = None
        for command, what in steps:
            if not pipelined:
                if refusal:
                    break
                connection.send(_commands([(command, what)]))
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
        if self._announced:
            self._abandon()  # a QUIT would read as the announced message's first line
        if self._connection is not None:
            try:
                self._connection.quit()
            except (OSError, smtplib.SMTPException):
                pass  # the messages are already accepted; a rude goodbye changes nothing
            self._connection = None


def _fits_envelope(address: str) -> bool:
    return bool(address) and not _ENVELOPE_BREAKERS.search(address)


def _pipelines(connection: smtplib.SMTP) -> bool:
    return connection.does_esmtp and connection.has_extn("pipelining")


def _envelope_steps(connection: smtplib.SMTP, sender: str, recipient: str, *, utf8: bool) -> list[tuple[str, str]]:
    """(command, what its refusal means) of one envelope."""
    options = (" SMTPUTF8" + (" BODY=8BITMIME" if connection.has_extn("8bitmime") else "")) if utf8 else ""
    return [(f"mail FROM:<{sender}>{options}", f"sender {sender} refused"),
            (f"rcpt TO:<{recipient}>", f"recipient {recipient} refused"),
            ("data", "DATA refused")]


def _commands(steps: list[tuple[str, str]]) -> bytes:
    # UTF-8 only reaches here in an SMTPUTF8 envelope; a plain one is ASCII (checked by the caller).
    return "".join(command + "\r\n" for command, _ in steps).encode("utf-8")


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
