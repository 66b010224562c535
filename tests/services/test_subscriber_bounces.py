"""Bounces and complaints suppress the recipient they prove to be about: a hard bounce or a complaint at once,
soft bounces at the third in a row. Proof is a signed VERP recipient or the signed Message-ID of our message
enclosed in the report; a report without proof, whatever its body names, is counted and changes nothing."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from publisher.compose.verp import message_id, verp_address
from publisher.deliver.bounces import parse_report
from publisher.deliver.intake import start_intake
from publisher.models import BounceEvent, Delivery, Subscription, UnverifiedReport
from publisher.models.base import utcnow
from publisher.services.bounces import handle_inbound
from publisher.services.digests import compose_digest
from publisher.services.subscribers import subscribe
from publisher.services.suppression import is_suppressed
from publisher.store.bounces import record_unverified, unverified_summary
from tests.support.bounces import KINDS
from tests.support.bounces import report as bounce_report
from tests.support.consent import add_post, make_list
from tests.support.ledger import open_session
from tests.support.smtp import free_port

BOUNCE_DOMAIN = "bounces.example.org"
PLAIN = f"bounces@{BOUNCE_DOMAIN}"


def report(kind: str, *, rcpt: str = PLAIN, **fields) -> bytes:
    return bounce_report(kind, rcpt=rcpt, **fields)


def _sent_digest(db, settings, news, title: str) -> int:
    add_post(db, news, title, at=utcnow())
    digest = compose_digest(db, settings, news)
    db.execute(update(Delivery).where(Delivery.digest_id == digest.id).values(status="sent", sent_at=utcnow()))
    db.commit()
    return digest.id


@dataclass
class Sent:
    """One digest sent to Ann (the victim) and Eve (who holds her own genuine VERP address and Message-ID)."""

    key: str
    news: object
    digest_id: int
    ann: int
    eve: int

    def verp(self, subscriber_id: int, digest_id: int | None = None) -> str:
        return verp_address(self.key, digest_id=digest_id or self.digest_id, subscriber_id=subscriber_id,
                            domain=BOUNCE_DOMAIN)

    def message_id(self, subscriber_id: int) -> str:
        return message_id(self.key, digest_id=self.digest_id, subscriber_id=subscriber_id, domain="example.org")


@pytest.fixture
def sent(db, consent_settings) -> Sent:
    news = make_list(db)
    ann = subscribe(db, news, email="ann@example.com", confirmed=True)
    eve = subscribe(db, news, email="eve@example.net", confirmed=True)
    digest_id = _sent_digest(db, consent_settings, news, "First")
    return Sent(consent_settings.resolved_secret_key(), news, digest_id, ann.subscriber_id, eve.subscriber_id)


def forgeries(s: Sent) -> list[tuple[str, list[str], str]]:
    """(what, envelope recipients, Message-ID of the enclosed 'original'): every way a stranger can claim a
    report is about Ann without holding a signature of ours for her."""
    d, a = s.digest_id, s.ann
    ann_verp, eve_verp = s.verp(a), s.verp(s.eve)
    eve_mac = eve_verp.split("@")[0].rsplit("-", 1)[1]
    eve_msgid_mac = s.message_id(s.eve).split("@")[0].rsplit(".", 1)[1]
    return [
        ("a plain address, a stranger's Message-ID", [PLAIN], "<4F2A9C.1@mx.example.net>"),
        ("no envelope recipient at all", [], "<4F2A9C.1@mx.example.net>"),
        ("the old guessable Message-ID", [PLAIN], f"<digest-{d}.subscriber-{a}@example.org>"),
        ("a Message-ID with a zero HMAC", [PLAIN], f"<digest-{d}.subscriber-{a}.{'0' * 16}@example.org>"),
        ("a Message-ID signed with another key",
         [PLAIN], message_id("another key", digest_id=d, subscriber_id=a, domain="example.org")),
        ("Ann's ids with the HMAC of Eve's Message-ID", [PLAIN], f"<digest-{d}.subscriber-{a}.{eve_msgid_mac}@x.org>"),
        ("Ann's Message-ID ids with her VERP HMAC",
         [PLAIN], f"<digest-{d}.subscriber-{a}.{ann_verp.split('@')[0].rsplit('-', 1)[1] * 2}@example.org>"),
        ("an unsigned VERP address", [f"bounce-{d}-{a}@{BOUNCE_DOMAIN}"], "<x@y>"),
        ("a VERP address with a short HMAC", [f"bounce-{d}-{a}-1234567@{BOUNCE_DOMAIN}"], "<x@y>"),
        ("a VERP address with a zero HMAC", [f"bounce-{d}-{a}-00000000@{BOUNCE_DOMAIN}"], "<x@y>"),
        ("a VERP address with a non-hex HMAC", [f"bounce-{d}-{a}-zzzzzzzz@{BOUNCE_DOMAIN}"], "<x@y>"),
        ("a malformed VERP address", [f"bounce--{a}-abcdef12@{BOUNCE_DOMAIN}", f"bounce-{d}-{a}-@x"], "<x@y>"),
        ("a VERP address signed with another key",
         [verp_address("another key", digest_id=d, subscriber_id=a, domain=BOUNCE_DOMAIN)], "<x@y>"),
        ("Ann's ids with the HMAC of Eve's VERP address", [f"bounce-{d}-{a}-{eve_mac}@{BOUNCE_DOMAIN}"], "<x@y>"),
        ("Ann's VERP address for another digest", [ann_verp.replace(f"bounce-{d}-", f"bounce-{d + 1}-")], "<x@y>"),
        ("Ann's VERP address with a forged Message-ID", [ann_verp.replace(f"-{a}-", f"-{a}0-")],
         f"<digest-{d}.subscriber-{a}@example.org>"),
    ]


def _nothing_happened_to_ann(db, s: Sent) -> list[str]:
    db.expire_all()
    problems = []
    if is_suppressed(db, "ann@example.com"):
        problems.append("Ann is suppressed")
    if db.scalar(select(func.count()).where(BounceEvent.subscriber_id == s.ann)):
        problems.append("a bounce was recorded for Ann")
    if db.scalar(select(Subscription.status).where(Subscription.subscriber_id == s.ann)) != "confirmed":
        problems.append("Ann's subscription changed")
    return problems


@pytest.mark.parametrize("kind", KINDS)
def test_no_forged_report_suppresses_the_person_it_names(db, consent_settings, sent, kind):
    cases = forgeries(sent)
    times = 3 if kind == "soft" else 1  # soft bounces count only three in a row
    for what, rcpt_tos, forged_id in cases:
        for _ in range(times):
            intake = handle_inbound(db, consent_settings, rcpt_tos=rcpt_tos,
                                    data=report(kind, rcpt=(rcpt_tos or [PLAIN])[0], message_id=forged_id))
            db.commit()
            assert intake.handled == [] and [u.kind for u in intake.unverified] == [kind], what
        assert _nothing_happened_to_ann(db, sent) == [], what
    counted = db.scalar(select(func.count()).select_from(UnverifiedReport))
    print(f"\n{len(cases)} kinds of forged {kind} report naming Ann: Ann untouched, {counted} counted as unverified")
    assert counted == len(cases) * times


@pytest.mark.parametrize("kind", KINDS)
def test_a_valid_verp_address_of_one_subscriber_never_acts_on_another(db, consent_settings, sent, kind):
    """Eve's own VERP address, a body naming Ann and enclosing Ann's genuine Message-ID: only Eve is concerned."""
    intake = handle_inbound(db, consent_settings, rcpt_tos=[sent.verp(sent.eve)],
                            data=report(kind, rcpt=sent.verp(sent.eve), final="ann@example.com",
                                        message_id=sent.message_id(sent.ann)))
    db.commit()
    assert [h.email for h in intake.handled] == ["eve@example.net"]
    assert _nothing_happened_to_ann(db, sent) == []
    assert is_suppressed(db, "eve@example.net") == (kind != "soft")


@pytest.mark.parametrize("kind", ["hard", "complaint"])
def test_a_report_to_a_plain_address_is_believed_by_its_signed_message_id(db, consent_settings, sent, kind):
    """Complaint loops (and bounces of a plain return path) come to a fixed address: the copy of our message
    they enclose (message/rfc822 for ARF, text/rfc822-headers for this DSN) carries our signature."""
    intake = handle_inbound(db, consent_settings, rcpt_tos=["abuse-reports@example.org"],
                            data=report(kind, final="someone.else@example.com", message_id=sent.message_id(sent.ann)))
    db.commit()
    assert [(h.email, h.suppressed) for h in intake.handled] == [("ann@example.com", True)]
    assert is_suppressed(db, "ann@example.com") and not is_suppressed(db, "eve@example.net")


def test_a_complaint_marked_not_spam_is_no_complaint(db, consent_settings, sent):
    data = report("complaint", message_id=sent.message_id(sent.ann)).replace(b"Feedback-Type: abuse",
                                                                                b"Feedback-Type: not-spam")
    intake = handle_inbound(db, consent_settings, rcpt_tos=[PLAIN], data=data)
    assert intake.handled == [] and intake.unverified == [] and not is_suppressed(db, "ann@example.com")


def test_parse_dsn_and_arf():
    hard = parse_report(report("hard", final="ann@example.com", message_id="<m@x>"))
    assert [(f.recipient, f.kind, f.status) for f in hard.failures] == [("ann@example.com", "hard", "5.1.1")]
    assert hard.original_message_ids == ("<m@x>",)
    assert parse_report(report("soft")).failures[0].kind == "soft"
    arf = parse_report(report("complaint", final="ann@example.com", message_id="<a@b>"))
    assert [(f.recipient, f.kind) for f in arf.failures] == [("ann@example.com", "complaint")]
    assert arf.original_message_ids == ("<a@b>",)
    assert parse_report(b"Subject: out of office\r\n\r\nI am away.").is_empty


def test_a_dsn_for_a_sent_digest_through_the_smtp_intake_suppresses_that_recipient(db, consent_settings, sent):
    def handle(rcpt_tos, data):
        with open_session(consent_settings, migrate=False) as session:
            handle_inbound(session, consent_settings, rcpt_tos=rcpt_tos, data=data)
            session.commit()

    rcpt = sent.verp(sent.ann)
    port = free_port()
    controller = start_intake(handle, host="127.0.0.1", port=port)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            # The DSN's Final-Recipient was rewritten by a forwarder: the signed VERP address decides.
            client.sendmail("", [rcpt], report("hard", rcpt=rcpt, final="ann.forwarded@elsewhere.example"))
            client.sendmail("", [PLAIN], report("hard", final="eve@example.net"))  # forged: counted only
    finally:
        controller.stop()
    db.expire_all()
    assert is_suppressed(db, "ann@example.com") and not is_suppressed(db, "eve@example.net")
    assert db.scalar(select(func.count()).select_from(UnverifiedReport)) == 1
    digest = _sent_digest(db, consent_settings, sent.news, "Second")
    emails = db.scalars(select(Delivery.email).where(Delivery.digest_id == digest)).all()
    assert emails == ["eve@example.net"]


def test_three_soft_bounces_in_a_row_suppress_two_do_not(db, consent_settings):
    news = make_list(db)
    ann = subscribe(db, news, email="ann@example.com", confirmed=True)
    key = consent_settings.resolved_secret_key()
    for n in range(3):
        digest_id = _sent_digest(db, consent_settings, news, f"Post {n}")
        rcpt = verp_address(key, digest_id=digest_id, subscriber_id=ann.subscriber_id, domain="b.example")
        intake = handle_inbound(db, consent_settings, rcpt_tos=[rcpt], data=report("soft", rcpt=rcpt))
        db.commit()
        assert intake.handled[0].kind == "soft" and intake.handled[0].suppressed == (n == 2)
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
        handle_inbound(db, consent_settings, rcpt_tos=[rcpt], data=report("soft", rcpt=rcpt))
        db.commit()
    assert not is_suppressed(db, "ann@example.com")


def test_one_report_listing_a_failure_three_times_is_one_soft_bounce(db, consent_settings, sent):
    data = report("soft", rcpt=sent.verp(sent.ann))
    group = data[data.index(b"Final-Recipient"):data.index(b"\r\n--B1\r\nContent-Type: text/rfc822-headers")]
    data = data.replace(group, b"\r\n".join([group] * 3))
    assert len(parse_report(data).failures) == 3
    handle_inbound(db, consent_settings, rcpt_tos=[sent.verp(sent.ann)], data=data)
    assert not is_suppressed(db, "ann@example.com")


def test_unverified_reports_are_kept_thirty_days(db, consent_settings, sent):
    now = utcnow()
    for days in (40, 31, 29, 1, 0):
        record_unverified(db, kind="hard", reason="test", rcpt=PLAIN, now=now - timedelta(days=days))
    assert unverified_summary(db, now=now)["unverified"] == 3
    assert unverified_summary(db, now=now)["unverified_last_24h"] == 1
