"""Use case of the send engine: deliver one batch of a digest, moving the ledger only after the effect."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr

from sqlalchemy.orm import Session

from publisher.compose.message import Recipient, build_message
from publisher.compose.render import RenderedDigest
from publisher.config import Settings
from publisher.deliver.mailer import Mailer, open_mailer
from publisher.errors import (
    MailerUnavailableError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UnknownDeliveryError,
)
from publisher.models import Delivery, DeliveryStatus, Digest, MailingList
from publisher.models.base import utcnow
from publisher.services.digests import finish_if_settled
from publisher.store import deliveries
from publisher.tokens import UNSUBSCRIBE, SubscriptionRef, make_token

MAX_ATTEMPTS = 6


@dataclass
class BatchOutcome:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)


def batch_plan(session: Session, settings: Settings, digest_id: int) -> list[int]:
    """`after_id` of each batch still to send."""
    return deliveries.batch_starts(session, digest_id=digest_id, batch_size=settings.batch_size)


def deliver_batch(session: Session, settings: Settings, *, digest_id: int, after_id: int, limit: int,
                  mailer: Mailer | None = None) -> BatchOutcome:
    """Claim up to `limit` pending rows after `after_id`, send each on one connection, settle each row as
    soon as the server answers. A row we did not win is someone else's: it is never touched here."""
    outcome = BatchOutcome()
    claimed = deliveries.claim_pending(session, digest_id=digest_id, after_id=after_id, limit=limit, now=utcnow())
    if not claimed:
        return outcome
    digest = session.get(Digest, digest_id)
    mailing_list = session.get(MailingList, digest.list_id)
    rendered = RenderedDigest(subject=digest.subject, html=digest.html, text=digest.text)
    mailer = mailer or open_mailer(settings)
    try:
        for index, row in enumerate(claimed):
            try:
                _send_one(session, settings, mailer, mailing_list, rendered, row, outcome)
            except MailerUnavailableError:
                deliveries.release(session, [r.id for r in claimed[index:]])
                raise
    finally:
        mailer.close()
    finish_if_settled(session, digest_id)
    return outcome


def _send_one(session, settings, mailer, mailing_list, rendered, row: Delivery, outcome: BatchOutcome) -> None:
    sender = mailing_list.sender or settings.sender
    recipient = recipient_for(settings, mailing_list, row, sender)
    message = build_message(rendered, recipient, sender=sender, list_id=list_id_for(mailing_list, sender))
    try:
        reply = mailer.send(envelope_from=parseaddr(sender)[1], recipient=row.email, message=message,
                            message_id=recipient.message_id)
    except TemporaryDeliveryError as exc:
        _defer(session, row, str(exc), outcome)
        return
    except PermanentDeliveryError as exc:
        deliveries.settle(session, row.id, status=DeliveryStatus.HARD_FAILED, reply=str(exc), now=utcnow())
        outcome.failed += 1
        outcome.errors.append(f"{row.email}: {exc}")
        return
    except UnknownDeliveryError as exc:
        # Maybe delivered: retrying could send it twice, so we stop and let a person decide.
        deliveries.settle(session, row.id, status=DeliveryStatus.UNKNOWN, reply=str(exc), now=utcnow())
        outcome.failed += 1
        outcome.errors.append(f"{row.email}: {exc}")
        return
    deliveries.settle(session, row.id, status=DeliveryStatus.SENT, reply=reply, now=utcnow())
    outcome.sent += 1


def _defer(session, row: Delivery, reply: str, outcome: BatchOutcome) -> None:
    if row.attempts + 1 >= MAX_ATTEMPTS:
        deliveries.settle(session, row.id, status=DeliveryStatus.HARD_FAILED, reply=f"gave up: {reply}", now=utcnow())
        outcome.failed += 1
        return
    # 1, 2, 4, 8 ... minutes, with jitter so retries of one outage do not arrive together.
    delay = timedelta(minutes=2 ** row.attempts * random.uniform(0.8, 1.2))
    deliveries.settle(session, row.id, status=DeliveryStatus.SOFT_FAILED, reply=reply, now=utcnow(),
                      next_attempt_at=utcnow() + delay)
    outcome.deferred += 1


def recipient_for(settings: Settings, mailing_list: MailingList, row: Delivery, sender: str) -> Recipient:
    ref = SubscriptionRef(subscriber_id=row.subscriber_id, list_id=mailing_list.id)
    token = make_token(settings.resolved_secret_key(), UNSUBSCRIBE, ref)
    base = settings.base_url.rstrip("/")
    domain = _domain(sender)
    return Recipient(
        email=row.email, name=row.name,
        unsubscribe_url=f"{base}/unsubscribe/{token}",
        unsubscribe_mailto=f"mailto:unsubscribe@{domain}?subject=unsubscribe%20{token}",
        preferences_url=f"{base}/unsubscribe/{token}",
        # Stable per digest x subscriber: a retry carries the same id, so receivers can drop a duplicate.
        message_id=f"<digest-{row.digest_id}.subscriber-{row.subscriber_id}@{domain}>",
    )


def list_id_for(mailing_list: MailingList, sender: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in mailing_list.name.lower()).strip("-") or "list"
    return f"{slug}.{_domain(sender)}"


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


def sweep(session: Session, settings: Settings) -> list[int]:
    """Rows stuck in SENDING (a dead worker) and soft failures now due go back to PENDING."""
    return deliveries.requeue_stuck_and_due(
        session, now=utcnow(), sending_timeout=timedelta(seconds=settings.sending_timeout_seconds))
