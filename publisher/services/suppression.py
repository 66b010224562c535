"""The suppression list: addresses that get no more mail, whatever a re-import or a sign-up says.

Global entries (list_id None) come from hard bounces, complaints, repeated soft bounces, SMTP 5xx and GDPR
wipes; per-list entries from unsubscribes. Entries are matched by a hash of the address, so a wiped
person (whose address we no longer hold) is still recognised."""

from __future__ import annotations

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from publisher.models import Subscriber, Subscription, SubscriptionStatus, Suppression
from publisher.models.base import utcnow
from publisher.models.suppression import address_hash

UNSUBSCRIBE = "unsubscribe"
HARD_BOUNCE = "hard_bounce"
SOFT_BOUNCES = "soft_bounces"
COMPLAINT = "complaint"
WIPED = "wiped"


def suppress(session: Session, email: str, *, reason: str, source: str, list_id: int | None = None) -> None:
    """Stop all mail to `email` (from one list when list_id is given). Idempotent. Pending deliveries are
    left to the send engine, which checks is_suppressed; future audiences exclude the address.
    A global suppression also ends the person's subscriptions, so lists show the truth."""
    digest = address_hash(email)
    already = session.scalar(select(exists().where(
        Suppression.email_hash == digest,
        Suppression.list_id.is_(None) if list_id is None else Suppression.list_id == list_id)))
    if not already:
        session.add(Suppression(email_hash=digest, email=email.strip().lower(), list_id=list_id, reason=reason,
                                source=source[:200], created_at=utcnow()))
    if list_id is None:
        subscriber_ids = (select(Subscriber.id).where(func.lower(Subscriber.email) == email.strip().lower())
                          .scalar_subquery())
        session.execute(
            update(Subscription)
            .where(Subscription.subscriber_id.in_(subscriber_ids),
                   Subscription.status != SubscriptionStatus.UNSUBSCRIBED)
            .values(status=SubscriptionStatus.UNSUBSCRIBED.value, unsubscribed_at=utcnow())
        )
    session.flush()


def is_suppressed(session: Session, email: str, *, list_id: int | None = None) -> bool:
    """True when the address gets no mail at all (or, given list_id, none from that list)."""
    scope = Suppression.list_id.is_(None)
    if list_id is not None:
        scope = or_(scope, Suppression.list_id == list_id)
    return bool(session.scalar(select(exists().where(Suppression.email_hash == address_hash(email), scope))))


def suppressed_among(session: Session, emails: list[str], *, list_id: int | None = None) -> set[str]:
    """Which of these addresses get no mail (from this list): one query for a whole chunk of a send."""
    by_hash = {address_hash(email): email for email in emails}
    scope = Suppression.list_id.is_(None)
    if list_id is not None:
        scope = or_(scope, Suppression.list_id == list_id)
    found = session.scalars(select(Suppression.email_hash).where(Suppression.email_hash.in_(by_hash), scope))
    return {by_hash[h] for h in found}


def lift_list_suppression(session: Session, email: str, *, list_id: int) -> None:
    """A confirmed new sign-up is fresh consent: it lifts that list's unsubscribe, never a global entry."""
    session.execute(delete(Suppression).where(Suppression.email_hash == address_hash(email),
                                              Suppression.list_id == list_id))
