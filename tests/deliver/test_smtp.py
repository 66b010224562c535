"""SMTP replies mapped to what the ledger must do, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import pytest

from publisher.config import parse_smtp_url
from publisher.deliver.outbox import OutboxMailer
from publisher.deliver.smtp import SMTPMailer
from publisher.errors import (
    ConfigError,
    MailerUnavailableError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UnknownDeliveryError,
)
from tests.support.smtp import free_port

MESSAGE = b"From: a@example.org\r\nTo: b@example.com\r\nSubject: hi\r\nMessage-ID: <m1@example.org>\r\n\r\nhello\r\n"


def _send(mailer, to="b@example.com"):
    return mailer.send(envelope_from="a@example.org", recipient=to, message=MESSAGE, message_id="<m1@example.org>")


def test_accepted_message_reaches_the_server(smtp):
    mailer = SMTPMailer(parse_smtp_url(smtp.url))
    reply = _send(mailer)
    mailer.close()
    assert reply.startswith("250")
    assert [m.rcpt_tos for m in smtp.messages] == [("b@example.com",)]
    assert b"hello" in smtp.messages[0].data


def test_one_connection_serves_many_messages_and_survives_refusals(smtp):
    smtp.refuse_rcpt("gone@example.com", "550 5.1.1 no such user")
    mailer = SMTPMailer(parse_smtp_url(smtp.url))
    _send(mailer, "one@example.com")
    with pytest.raises(PermanentDeliveryError, match="550"):
        _send(mailer, "gone@example.com")
    _send(mailer, "two@example.com")  # the refusal did not break the session
    mailer.close()
    assert [m.rcpt_tos[0] for m in smtp.messages] == ["one@example.com", "two@example.com"]


@pytest.mark.parametrize("reply, error", [
    ("451 4.3.0 try again later", TemporaryDeliveryError),
    ("452 4.2.2 mailbox full", TemporaryDeliveryError),
    ("550 5.1.1 unknown user", PermanentDeliveryError),
    ("554 5.7.1 rejected", PermanentDeliveryError),
])
def test_rcpt_replies_are_classified(smtp, reply, error):
    smtp.refuse_rcpt("x@example.com", reply)
    mailer = SMTPMailer(parse_smtp_url(smtp.url))
    with pytest.raises(error) as caught:
        _send(mailer, "x@example.com")
    assert caught.value.code == int(reply[:3])
    assert smtp.messages == []


def test_data_refusal_is_classified(smtp):
    smtp.refuse_data("x@example.com", "552 5.3.4 message too big")
    with pytest.raises(PermanentDeliveryError, match="552"):
        _send(SMTPMailer(parse_smtp_url(smtp.url)), "x@example.com")


def test_connection_lost_after_data_is_unknown_not_temporary(smtp):
    smtp.drop_after_data("x@example.com")
    with pytest.raises(UnknownDeliveryError):
        _send(SMTPMailer(parse_smtp_url(smtp.url)), "x@example.com")


def test_unreachable_server_makes_the_mailer_unavailable():
    mailer = SMTPMailer(parse_smtp_url(f"smtp://127.0.0.1:{free_port()}"), timeout=2)
    with pytest.raises(MailerUnavailableError, match="cannot use SMTP server"):
        _send(mailer)


def test_starttls_against_a_server_without_it_makes_the_mailer_unavailable(smtp):
    with pytest.raises(MailerUnavailableError):
        _send(SMTPMailer(parse_smtp_url(smtp.url + "?tls=starttls"), timeout=5))


@pytest.mark.parametrize("url", ["http://mail.example.org", "smtp://", "smtp://h:25?tls=maybe"])
def test_malformed_smtp_urls_are_config_errors(url):
    with pytest.raises(ConfigError):
        parse_smtp_url(url)


def test_smtp_url_parts():
    server = parse_smtp_url("smtps://user%40x:p%3Ass@mail.example.org")
    assert (server.host, server.port, server.username, server.password, server.security) == \
        ("mail.example.org", 465, "user@x", "p:ss", "ssl")


def test_outbox_writes_one_file_per_message_id_atomically(tmp_path):
    mailer = OutboxMailer(tmp_path / "outbox")
    mailer.send(envelope_from="a@example.org", recipient="b@example.com", message=MESSAGE, message_id="<d1.s1@x>")
    mailer.send(envelope_from="a@example.org", recipient="b@example.com", message=MESSAGE, message_id="<d1.s1@x>")
    files = list((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == ["d1.s1_x.eml"]  # a retry overwrites, never duplicates
    assert files[0].read_bytes() == MESSAGE


def test_lines_starting_with_a_dot_arrive_intact(smtp):
    body = b"From: a@example.org\r\nTo: b@example.com\r\nSubject: dots\r\n\r\n.hidden\r\n..two\r\n.\r\nend\r\n"
    mailer = SMTPMailer(parse_smtp_url(smtp.url))
    mailer.send(envelope_from="a@example.org", recipient="b@example.com", message=body, message_id="<d@x>")
    mailer.close()
    assert smtp.messages[0].data.endswith(b"\r\n\r\n.hidden\r\n..two\r\n.\r\nend\r\n")
