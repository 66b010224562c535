"""Following a link from a mail. The token names a subscription and a fingerprint of the address it was
mailed to; it opens only while that subscriber still exists with that address. A wiped or deleted person's
links die with them, even when their id has been given to a newcomer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.errors import NotFoundError
from publisher.models import Subscriber, Subscription
from publisher.tokens import LinkRef

GONE = "we hold no subscription for this link any more: it may have been removed"


def holder(session: Session, secret_key: str, ref: LinkRef) -> Subscriber:
    """The subscriber the link was mailed to. Raises NotFoundError when they are gone."""
    subscriber = session.get(Subscriber, ref.subscriber_id)
    if subscriber is None or not ref.is_held_by(secret_key, subscriber.email):
        raise NotFoundError(GONE)
    return subscriber


def subscription(session: Session, secret_key: str, ref: LinkRef) -> Subscription:
    """The subscription the link names, of the subscriber it was mailed to. Raises NotFoundError."""
    subscriber = holder(session, secret_key, ref)
    found = session.scalar(select(Subscription).where(Subscription.subscriber_id == subscriber.id,
                                                      Subscription.list_id == ref.list_id))
    if found is None:
        raise NotFoundError(GONE)
    return found
