"""Confirmations go the way digests go: rendered from templates/email/confirm/, prepared, built and signed by
compose/, recorded in the `mails` ledger and sent by a task that claims and settles the row, so a retry or a
second run of the task never mails twice (the web app here runs its tasks inline, as the CLI does)."""

from __future__ import annotations

import re
from datetime import timedelta

import dkim
import pytest
from sqlalchemy import select

from publisher.compose.dkim import generate_key
from publisher.compose.verp import parse_mail_verp
from publisher.config import get_settings
from publisher.db import session_scope
from publisher.deliver.mailer import open_mailer
from publisher.models import Mail
from publisher.models.base import utcnow
from publisher.services import mails
from publisher.services.bounces import handle_inbound
from publisher.services.suppression import is_suppressed
from tests.support.bounces import report

SECRET = "test-secret-key-not-for-production"  # tests/support/deploy.base_env


@pytest.fixture
def signed(settings, tmp_path, monkeypatch):
    """DKIM on (the key `publisher dkim keygen` would make) and VERP return paths; returns the TXT record."""
    pair = generate_key("mail", "example.org")
    (tmp_path / "dkim.pem").write_bytes(pair.private_pem)
    for key, value in {"PUBLISHER_DKIM_SELECTOR": "mail", "PUBLISHER_DKIM_DOMAIN": "example.org",
                       "PUBLISHER_DKIM_KEY_FILE": str(tmp_path / "dkim.pem"),
                       "PUBLISHER_BOUNCE_DOMAIN": "bounces.example.org"}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    return pair.txt_record


def _dns(record: str):
    return lambda name, timeout=5: record.encode() if name == b"mail._domainkey.example.org." else None


def _sign_up(client, address: str, name: str = "Reader"):
    page = client.post("/subscribe/news", data={"email": address, "name": name, "website": ""})
    assert page.status_code == 200 and "Check your inbox" in page.text
    return page


def _mail_row(address: str) -> Mail:
    with session_scope() as session:
        return session.scalars(select(Mail).where(Mail.email == address)).one()


def test_a_confirmation_is_signed_carries_verp_and_no_list_headers(app, client, news, smtp, signed):
    _sign_up(client, "reader@example.com")
    [received] = smtp.to("reader@example.com")
    assert dkim.verify(received.data, dnsfunc=_dns(signed))
    row = _mail_row("reader@example.com")
    assert parse_mail_verp(SECRET, received.mail_from) == row.id  # a bounce names this mail
    assert received.mail_from.endswith("@bounces.example.org")
    message = received.message
    assert message["Subject"] == "Confirm your subscription to news blog"  # the blog (its feed's title)
    assert message["To"] == "Reader <reader@example.com>"
    assert message["Auto-Submitted"] == "auto-generated"
    for absent in ("List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"):
        assert message[absent] is None, absent  # nobody is subscribed yet: nothing to unsubscribe from
    assert re.fullmatch(r"<mail-\d+\.[0-9a-f]{16}@example\.org>", message["Message-ID"])
    text, html = (part.get_content() for part in message.iter_parts())
    link = re.search(r"https://news\.example\.org/confirm/\S+", text).group()
    assert text.startswith("Hello Reader,") and f'href="{link}"' in html
    assert "Unsubscribe" not in html and "zzPUB" not in text + html
    assert row.status == "sent" and row.attempts == 1 and row.last_reply.startswith("250")


def test_the_confirmation_is_clickable(client, news, smtp):
    _sign_up(client, "clicks@example.com", name="")
    text = smtp.to("clicks@example.com")[0].message.get_body(("plain",)).get_content()
    assert text.startswith("Hello there,")
    link = re.search(r"https://news\.example\.org(/confirm/\S+)", text).group(1)
    assert "You are subscribed" in client.post(link).text


def test_a_task_run_twice_mails_once(client, news, smtp):
    from workers.tasks import send_mail

    _sign_up(client, "twice@example.com")
    row = _mail_row("twice@example.com")
    assert send_mail.apply(args=[row.id]).get() is None  # settled: not ours to send again
    assert send_mail.apply(args=[row.id]).get() is None
    assert len(smtp.to("twice@example.com")) == 1


class _Crash(BaseException):
    """The worker dies: after the server's 250, before the row is settled."""


class _DiesAfterTheServerAccepts:
    def __init__(self, settings):
        self.inner = open_mailer(settings)

    def send(self, **kwargs) -> str:
        self.inner.send(**kwargs)
        raise _Crash()

    def close(self) -> None:
        self.inner.close()


def test_a_crash_between_250_and_settle_sends_at_most_once_more(client, news, smtp):
    smtp.refuse_rcpt("crash@example.com", "451 4.3.0 try again later")
    _sign_up(client, "crash@example.com")  # the page answers; the mail waits for its retry
    row = _mail_row("crash@example.com")
    assert row.status == "soft_failed" and smtp.to("crash@example.com") == []
    del smtp._collector.rcpt_replies["crash@example.com"]  # the server takes mail again

    settings = get_settings()
    later = row.next_attempt_at + timedelta(seconds=1)
    with session_scope() as session, pytest.raises(_Crash):
        mails.deliver_mail(session, settings, row.id, mailer=_DiesAfterTheServerAccepts(settings), now=later)
    assert len(smtp.to("crash@example.com")) == 1 and _mail_row("crash@example.com").status == "sending"

    with session_scope() as session:  # a retry while the dead worker's lease runs: nothing goes
        assert mails.deliver_mail(session, settings, row.id, now=later) is None
    assert len(smtp.to("crash@example.com")) == 1

    after_lease = _mail_row("crash@example.com").lease_until + timedelta(seconds=1)
    with session_scope() as session:  # the lease ran out: the one unrecorded message goes once more
        assert mails.deliver_mail(session, settings, row.id, now=after_lease).status.value == "sent"
        for _ in range(3):  # and never again, however often it is retried
            assert mails.deliver_mail(session, settings, row.id, now=after_lease + timedelta(hours=1)) is None
    assert len(smtp.to("crash@example.com")) == 2  # the physical limit: one copy between 250 and its record
    assert _mail_row("crash@example.com").status == "sent"


def test_a_refusing_server_fails_the_mail_not_the_page(client, news, smtp):
    smtp.refuse_rcpt("nobody@example.com", "550 5.1.1 no such user")
    _sign_up(client, "nobody@example.com")
    row = _mail_row("nobody@example.com")
    assert row.status == "hard_failed" and "550" in row.last_reply


def test_the_sweeper_finds_retries_that_are_due(client, news, smtp):
    smtp.refuse_rcpt("later@example.com", "451 4.3.0 try again later")
    _sign_up(client, "later@example.com")
    row = _mail_row("later@example.com")
    with session_scope() as session:
        assert row.id not in mails.sweep(session, get_settings(), now=utcnow())
        assert row.id in mails.sweep(session, get_settings(), now=row.next_attempt_at + timedelta(seconds=1))


def test_a_bounce_to_a_confirmations_verp_address_stops_mail_to_it(client, news, smtp, signed):
    _sign_up(client, "typo@example.com")
    [received] = smtp.to("typo@example.com")
    forged = received.mail_from.replace(received.mail_from.split("-")[2].split("@")[0], "00000000")
    with session_scope() as session:
        intake = handle_inbound(session, get_settings(), rcpt_tos=[forged],
                                data=report("hard", rcpt=forged, final="typo@example.com"))
        session.commit()
        assert intake.handled == [] and not is_suppressed(session, "typo@example.com")
        intake = handle_inbound(session, get_settings(), rcpt_tos=[received.mail_from],
                                data=report("hard", rcpt=received.mail_from, final="typo@example.com"))
        session.commit()
        assert [h.email for h in intake.handled] == ["typo@example.com"]
        assert is_suppressed(session, "typo@example.com")
