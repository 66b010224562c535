"""Bounces and complaints arriving at the VERP address suppress the recipient: a hard bounce or a complaint
at once, soft bounces at the third in a row. Through the real inbound SMTP endpoint (aiosmtpd)."""

from __future__ import annotations

import smtplib
from pathlib import Path

from sqlalchemy import select, update

from publisher.compose.verp import verp_address
from publisher.deliver.bounces import parse_report
from publisher.deliver.intake import start_intake
from publisher.models import Delivery
from publisher.models.base import utcnow
from publisher.services.bounces import handle_inbound
from publisher.services.digests import compose_digest
from publisher.services.subscribers import subscribe
from publisher.services.suppression import is_suppressed
from tests.support.consent import add_post, make_list
from tests.support.ledger import open_session
from tests.support.smtp import free_port

DATA = Path(__file__).resolve().parents[1] / "data" / "bounces"


def _dsn(rcpt: str, final: str, status="5.1.1", code=550, name="dsn_hard.eml") -> bytes:
    text = (DATA / name).read_text().format(rcpt=rcpt, final=final, status=status, code=code)
    return text.replace("\n", "\r\n").encode()


def _sent_digest(db, settings, news, title: str) -> int:
    add_post(db, news, title, at=utcnow())
    digest = compose_digest(db, settings, news)
    db.execute(update(Delivery).where(Delivery.digest_id == digest.id).values(status="sent", sent_at=utcnow()))
    db.commit()
    return digest.id


def test_parse_dsn_and_arf():
    hard = parse_report(_dsn("bounce@x", "ann@example.com"))
    assert [(f.recipient, f.kind, f.status) for f in hard.failures] == [("ann@example.com", "hard", "5.1.1")]
    soft = parse_report(_dsn("bounce@x", "ann@example.com", status="4.2.2", code=452))
    assert soft.failures[0].kind == "soft"
    arf = parse_report(_dsn("bounce@x", "ann@example.com", name="arf_complaint.eml"))
    assert [(f.recipient, f.kind) for f in arf.failures] == [("ann@example.com", "complaint")]
    assert parse_report(b"Subject: out of office\r\n\r\nI am away.").is_empty


def test_a_dsn_for_a_sent_digest_through_the_smtp_intake_suppresses_that_recipient(db, consent_settings):
    news = make_list(db)
    ann = subscribe(db, news, email="ann@example.com", confirmed=True)
    subscribe(db, news, email="bob@example.com", confirmed=True)
    digest_id = _sent_digest(db, consent_settings, news, "First")
    key = consent_settings.resolved_secret_key()
    rcpt = verp_address(key, digest_id=digest_id, subscriber_id=ann.subscriber_id, domain="bounces.example.org")

    def handle(rcpt_tos, data):
        with open_session(consent_settings, migrate=False) as session:
            handle_inbound(session, consent_settings, rcpt_tos=rcpt_tos, data=data)
            session.commit()

    port = free_port()
    controller = start_intake(handle, host="127.0.0.1", port=port)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            # The DSN's Final-Recipient was rewritten by a forwarder: the signed VERP address decides.
            client.sendmail("", [rcpt], _dsn(rcpt, "ann.forwarded@elsewhere.example"))
    finally:
        controller.stop()
    db.expire_all()
    assert is_suppressed(db, "ann@example.com") and not is_suppressed(db, "bob@example.com")
    digest = _sent_digest(db, consent_settings, news, "Second")
    emails = db.scalars(select(Delivery.email).where(Delivery.digest_id == digest)).all()
    print(f"\nDSN for digest {digest_id} suppressed ann@example.com; next send goes to {emails}")
    assert emails == ["bob@example.com"]


def test_a_forged_verp_address_suppresses_nobody(db, consent_settings):
    news = make_list(db)
    ann = subscribe(db, news, email="ann@example.com", confirmed=True)
    digest_id = _sent_digest(db, consent_settings, news, "First")
    forged = verp_address("not-our-key", digest_id=digest_id, subscriber_id=ann.subscriber_id, domain="b.example")
    handle_inbound(db, consent_settings, rcpt_tos=[forged], data=_dsn(forged, "someone@else.example"))
    assert not is_suppressed(db, "ann@example.com")


def test_three_soft_bounces_in_a_row_suppress_two_do_not(db, consent_settings):
    news = make_list(db)
    ann = subscribe(db, news, email="ann@example.com", confirmed=True)
    key = consent_settings.resolved_secret_key()
    for n in range(3):
        digest_id = _sent_digest(db, consent_settings, news, f"Post {n}")
        rcpt = verp_address(key, digest_id=digest_id, subscriber_id=ann.subscriber_id, domain="b.example")
        handled = handle_inbound(db, consent_settings, rcpt_tos=[rcpt],
                                 data=_dsn(rcpt, "ann@example.com", status="4.2.2", code=452))
        db.commit()
        assert handled[0].kind == "soft" and handled[0].suppressed == (n == 2)
    assert is_suppressed(db, "ann@example.com")


def test_a_delivered_digest_between_soft_bounces_breaks_the_row(db, consent_settings):
    news = make_list(db)
    ann = subscribe(db, news, email="ann@example.com", confirmed=True)
    key = consent_settings.resolved_secret_key()
    for n in range(5):
        digest_id = _sent_digest(db, consent_settings, news, f"Post {n}")
        if n == 2:
            continue  # this one was delivered fine
        rcpt = verp_address(key, digest_id=digest_id, subscriber_id=ann.subscriber_id, domain="b.example")
        handle_inbound(db, consent_settings, rcpt_tos=[rcpt], data=_dsn(rcpt, "ann@example.com", status="4.2.2",
                                                                       code=452))
        db.commit()
    assert not is_suppressed(db, "ann@example.com")


def test_a_complaint_suppresses_at_once(db, consent_settings):
    news = make_list(db)
    subscribe(db, news, email="ann@example.com", confirmed=True)
    _sent_digest(db, consent_settings, news, "First")
    handle_inbound(db, consent_settings, rcpt_tos=["abuse-reports@example.org"],
                   data=_dsn("x", "ann@example.com", name="arf_complaint.eml"))
    assert is_suppressed(db, "ann@example.com")
