"""Helpers for the consent tests: a database with a list over a feed, posts made at chosen instants, and a
web app on that database."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.models import (
    Delivery,
    DigestPost,
    Feed,
    ListFeed,
    MailingList,
    Post,
    Subscription,
)


def make_list(session: Session, *, name: str = "news", cadence: str = "daily", send_at: str = "08:00",
              timezone: str = "UTC", since: datetime | None = None, last_slot_at: datetime | None = None,
              weekday: int = 0) -> MailingList:
    feed = Feed(url=f"https://blog.example.org/{name}/feed", name=f"{name} blog", baseline_at=since)
    mailing_list = MailingList(name=name, cadence=cadence, send_at=send_at, timezone=timezone, weekday=weekday,
                               last_slot_at=last_slot_at)
    session.add_all([feed, mailing_list])
    session.flush()
    session.add(ListFeed(list_id=mailing_list.id, feed_id=feed.id, added_at=since or datetime(2000, 1, 1, tzinfo=UTC)))
    session.commit()
    return mailing_list


def add_post(session: Session, mailing_list: MailingList, title: str, *, at: datetime) -> Post:
    feed_id = session.scalar(select(ListFeed.feed_id).where(ListFeed.list_id == mailing_list.id))
    digest = hashlib.sha256(title.encode()).hexdigest()
    post = Post(feed_id=feed_id, identity=title, identity_hash=digest, title=title, link=f"https://blog.example.org/{digest[:8]}",
                content_html=f"<p>{title}</p>", content_hash=digest, published_at=at, first_seen_at=at,
                categories=[])
    session.add(post)
    session.commit()
    return post


def received(session: Session, email: str) -> list[str]:
    """Titles of the posts in every digest the address has a ledger row for, in order (with repeats)."""
    rows = session.execute(
        select(Post.title).join(DigestPost, DigestPost.post_id == Post.id)
        .join(Delivery, Delivery.digest_id == DigestPost.digest_id)
        .where(Delivery.email == email).order_by(Delivery.digest_id, DigestPost.position)
    ).scalars().all()
    return list(rows)


def subscription_of(session: Session, mailing_list: MailingList, subscriber_id: int) -> Subscription:
    return session.scalar(select(Subscription).where(Subscription.list_id == mailing_list.id,
                                                     Subscription.subscriber_id == subscriber_id))
