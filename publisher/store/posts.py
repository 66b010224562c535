"""Named queries on posts: the news of a list, its latest posts, the names of their feeds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from publisher.models import Feed, ListFeed, MailingList, Post


def news_for_list(session: Session, mailing_list: MailingList, *, after: datetime | None,
                  until: datetime) -> list[Post]:
    """Posts of the list's feeds that are news (not baseline, arrived after the feed joined the list),
    first seen in (after, until]; ordered by first sighting, the order the watermarks follow."""
    query = (
        select(Post)
        .join(ListFeed, and_(ListFeed.feed_id == Post.feed_id, ListFeed.list_id == mailing_list.id))
        .where(Post.is_baseline.is_(False), Post.first_seen_at >= ListFeed.added_at, Post.first_seen_at <= until)
        .order_by(Post.first_seen_at, Post.id)
    )
    if after is not None:
        query = query.where(Post.first_seen_at > after)
    return list(session.scalars(query))


def latest_posts_for_list(session: Session, mailing_list: MailingList, limit: int = 5) -> list[Post]:
    """For previews when nothing is new: the most recent posts of the list's feeds, newest first (as a digest
    orders them)."""
    query = (
        select(Post)
        .join(ListFeed, and_(ListFeed.feed_id == Post.feed_id, ListFeed.list_id == mailing_list.id))
        .order_by(func.coalesce(Post.published_at, Post.first_seen_at).desc(), Post.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query).all())


def feed_titles(session: Session, posts: list[Post]) -> dict[int, str]:
    """The name each post's feed goes by in a digest, by feed id."""
    feeds = session.scalars(select(Feed).where(Feed.id.in_({p.feed_id for p in posts})))
    return {feed.id: feed.display_name for feed in feeds}
