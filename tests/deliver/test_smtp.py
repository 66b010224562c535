"""SMTP replies mapped to what the ledger must do, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import time

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
from tests.support.smtp import SMTPSink, free_port

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


def test_the_outbox_takes_the_same_hooks_in_the_same_order(tmp_path):
    mailer, calls = OutboxMailer(tmp_path / "outbox"), []
    mailer.send(envelope_from="a@example.org", recipient="b@example.com", message=MESSAGE, message_id="<m@x>",
                before_data=lambda: calls.append(("before", list((tmp_path / "outbox").iterdir()))),
                while_waiting=lambda: calls.append(("waiting", [f.name for f in (tmp_path / "outbox").iterdir()])),
                next_envelope=("a@example.org", "c@example.com"))
    assert calls == [("before", []), ("waiting", ["m_x.eml"])]


def test_lines_starting_with_a_dot_arrive_intact(smtp):
    body = b"From: a@example.org\r\nTo: b@example.com\r\nSubject: dots\r\n\r\n.hidden\r\n..two\r\n.\r\nend\r\n"
    mailer = SMTPMailer(parse_smtp_url(smtp.url))
    mailer.send(envelope_from="a@example.org", recipient="b@example.com", message=body, message_id="<d@x>")
    mailer.close()
    assert smtp.messages[0].data.endswith(b"\r\n\r\n.hidden\r\n..two\r\n.\r\nend\r\n")


# --- the next envelope written behind a message (RFC 2920 3.1) ---------------------------------------------

def _message_to(address: str, text: str) -> bytes:
    return (f"From: a@example.org\r\nTo: {address}\r\nSubject: {text}\r\nMessage-ID: <{text}@example.org>\r\n"
            f"\r\n{text}\r\n").encode()


def _send_announcing(mailer, to: str, text: str, *, then: str | None) -> str:
    return mailer.send(envelope_from="a@example.org", recipient=to, message=_message_to(to, text),
                       message_id=f"<{text}@example.org>", next_envelope=("a@example.org", then) if then else None)


def _writes_of(mailer) -> list[bytes]:
    """What the mailer writes on its current connection, one item per write."""
    connection, writes = mailer._connect(), []
    original = connection.send

    def send(data):
        writes.append(data if isinstance(data, bytes) else data.encode())
        return original(data)
    connection.send = send
    return writes


def test_the_next_envelope_leaves_with_the_message_before_it_and_both_arrive_intact(smtp):
    mailer = SMTPMailer(parse_smtp_url(smtp.url))
    writes = _writes_of(mailer)
    replies = [_send_announcing(mailer, "one@example.com", "first", then="two@example.com"),
               _send_announcing(mailer, "two@example.com", "second", then="three@example.com"),
               _send_announcing(mailer, "three@example.com", "third", then=None)]
    mailer.close()
    assert all(reply.startswith("250") for reply in replies)
    assert [(m.rcpt_tos, m.message["Subject"]) for m in smtp.messages] == [
        (("one@example.com",), "first"), (("two@example.com",), "second"), (("three@example.com",), "third")]
    assert [m.message.get_content().strip() for m in smtp.messages] == ["first", "second", "third"]
    # One write carries a message's final dot and the whole envelope of the next: no round trip between them.
    assert any(w.startswith(b"From:") and w.endswith(b"\r\n.\r\nmail FROM:<a@example.org>\r\n"
                                                      b"rcpt TO:<two@example.com>\r\ndata\r\n") for w in writes)


def test_an_announced_message_that_never_comes_is_never_delivered(smtp):
    """Its DATA was accepted ahead: only the end of the connection can close it, and the server discards a
    message without its final dot. The send after it goes through a new connection."""
    mailer = SMTPMailer(parse_smtp_url(smtp.url))
    _send_announcing(mailer, "one@example.com", "first", then="ghost@example.com")
    _send_announcing(mailer, "other@example.com", "instead", then="ghost2@example.com")
    mailer.close()  # with an announcement pending: no QUIT, which would read as the message's first line
    assert [m.rcpt_tos for m in smtp.messages] == [("one@example.com",), ("other@example.com",)]
    assert smtp.to("ghost@example.com") == [] and smtp.to("ghost2@example.com") == []


def test_refusals_of_an_announced_envelope_and_of_the_message_before_it_are_the_messages_own(smtp):
    smtp.refuse_rcpt("gone@example.com", "550 5.1.1 no such user")
    smtp.refuse_data("big@example.com", "552 5.3.4 message too big")
    mailer = SMTPMailer(parse_smtp_url(smtp.url))
    _send_announcing(mailer, "one@example.com", "first", then="gone@example.com")
    with pytest.raises(PermanentDeliveryError, match="550"):
        _send_announcing(mailer, "gone@example.com", "refused", then="big@example.com")
    with pytest.raises(PermanentDeliveryError, match="552"):
        _send_announcing(mailer, "big@example.com", "too big", then="two@example.com")
    _send_announcing(mailer, "two@example.com", "second", then=None)
    mailer.close()
    assert [m.rcpt_tos for m in smtp.messages] == [("one@example.com",), ("two@example.com",)]


def test_a_server_without_pipelining_gets_one_command_at_a_time():
    with SMTPSink(pipelining=False) as server:
        mailer = SMTPMailer(parse_smtp_url(server.url))
        writes = _writes_of(mailer)
        _send_announcing(mailer, "one@example.com", "first", then="two@example.com")
        _send_announcing(mailer, "two@example.com", "second", then=None)
        mailer.close()
        assert [m.rcpt_tos for m in server.messages] == [("one@example.com",), ("two@example.com",)]
        assert not any(b"mail FROM" in w and b"rcpt TO" in w for w in writes)


def test_the_hook_while_waiting_runs_once_the_whole_message_left_and_before_its_reply_is_read(smtp):
    """The caller builds its next message there: the server must already have this one, and the reply (held
    back by the server until the hook lets it go) must not have been waited for yet."""
    reply_held = smtp.stall_after_data("b@example.com")
    seen = []

    def while_waiting():
        deadline = time.monotonic() + 5
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(len(smtp.messages))
        reply_held.set()

    mailer = SMTPMailer(parse_smtp_url(smtp.url), timeout=10)
    reply = mailer.send(envelope_from="a@example.org", recipient="b@example.com", message=MESSAGE,
                        message_id="<m1@example.org>", while_waiting=while_waiting)
    mailer.close()
    assert reply.startswith("250") and seen == [1]
