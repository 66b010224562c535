"""Named queries on feeds and the lists that use them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.models import Feed, HubSubscription, ListFeed, MailingList


def feeds_with_push(session: Session) -> list[tuple[Feed, HubSubscription | None]]:
    """Every feed with its WebSub subscription (None: none), failing ones first."""
    rows = session.execute(
        select(Feed, HubSubscription).outerjoin(HubSubscription, HubSubscription.feed_id == Feed.id)
        .order_by(Feed.consecutive_failures.desc(), Feed.id)
    ).all()
    return [(feed, sub) for feed, sub in rows]


def lists_using(session: Session, feed_id: int) -> list[str]:
    return list(session.scalars(
        select(MailingList.name).join(ListFeed, ListFeed.list_id == MailingList.id)
        .where(ListFeed.feed_id == feed_id).order_by(MailingList.name)
    ))


def push_of(session: Session, feed_id: int) -> HubSubscription | None:
    return session.scalar(select(HubSubscription).where(HubSubscription.feed_id == feed_id))
