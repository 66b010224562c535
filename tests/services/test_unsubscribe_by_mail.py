"""The mailto: in List-Unsubscribe works: the mail a reader's client sends to it (its prefilled subject holds
the signed token) unsubscribes them from that list, through the bounce intake; a token that is not ours, or
another reader's address in the From line, changes nothing."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select

from publisher.models import Delivery, Digest, Subscription
from publisher.services.bounces import handle_inbound
from publisher.services.messages import DigestMailing
from tests.services.test_subscriber_bounces import sent  # noqa: F401 - the fixture: a digest sent to Ann and Eve


def _mailto_of(db, settings, sent, subscriber_id: int) -> str:  # noqa: F811
    digest = db.get(Digest, sent.digest_id)
    row = db.scalar(select(Delivery).where(Delivery.digest_id == digest.id, Delivery.subscriber_id == subscriber_id))
    return DigestMailing.for_digest(db, settings, digest, sent.news).recipient(row).unsubscribe_mailto


def _mail_from_client(mailto: str, sender: str) -> tuple[str, bytes]:
    """What a mail client sends for a mailto: URL: to its address, with its subject."""
    parts = urlsplit(mailto)
    message = EmailMessage()
    message["From"], message["To"] = sender, unquote(parts.path)
    message["Subject"] = parse_qs(parts.query)["subject"][0]
    message.set_content("")
    return unquote(parts.path), message.as_bytes()


def _status(db, subscriber_id: int) -> str:
    db.expire_all()
    return db.scalar(select(Subscription.status).where(Subscription.subscriber_id == subscriber_id))


def test_the_mail_the_mailto_sends_unsubscribes_its_reader(db, consent_settings, sent):  # noqa: F811
    rcpt, data = _mail_from_client(_mailto_of(db, consent_settings, sent, sent.ann), "Ann <ann@example.com>")
    intake = handle_inbound(db, consent_settings, rcpt_tos=[rcpt], data=data)
    db.commit()
    assert [(h.email, h.kind) for h in intake.handled] == [("ann@example.com", "unsubscribe")]
    assert _status(db, sent.ann) == "unsubscribed" and _status(db, sent.eve) == "confirmed"


def test_the_token_not_the_from_line_says_who(db, consent_settings, sent):  # noqa: F811
    mailto = _mailto_of(db, consent_settings, sent, sent.eve)
    rcpt, data = _mail_from_client(mailto, "Ann <ann@example.com>")  # Eve's token, whoever claims to send it
    handle_inbound(db, consent_settings, rcpt_tos=[rcpt], data=data)
    db.commit()
    assert _status(db, sent.eve) == "unsubscribed" and _status(db, sent.ann) == "confirmed"


def test_a_forged_token_changes_nothing(db, consent_settings, sent):  # noqa: F811
    mailto = _mailto_of(db, consent_settings, sent, sent.ann)
    forged = mailto[:-6] + ("AAAAAA" if not mailto.endswith("AAAAAA") else "BBBBBB")
    for subject_mailto in (forged, "mailto:unsubscribe@example.org?subject=unsubscribe%20ann%40example.com"):
        rcpt, data = _mail_from_client(subject_mailto, "Mallory <m@example.net>")
        intake = handle_inbound(db, consent_settings, rcpt_tos=[rcpt], data=data)
        db.commit()
        assert intake.handled == []
    assert _status(db, sent.ann) == "confirmed"
