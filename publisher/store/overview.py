"""Named queries behind the editor's dashboard."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.models import Feed, MailingList, Post


def recent_posts(session: Session, *, limit: int) -> list[tuple[Post, Feed]]:
    """The newest posts the watcher found (not the baseline taken when a feed was added)."""
    return [(post, feed) for post, feed in session.execute(
        select(Post, Feed).join(Feed, Feed.id == Post.feed_id).where(Post.is_baseline.is_(False))
        .order_by(Post.first_seen_at.desc(), Post.id.desc()).limit(limit))]


def failing_feeds(session: Session) -> list[Feed]:
    return list(session.scalars(select(Feed).where(Feed.consecutive_failures > 0)
                                .order_by(Feed.consecutive_failures.desc(), Feed.id)))


def active_lists(session: Session) -> list[MailingList]:
    return list(session.scalars(select(MailingList).where(MailingList.paused.is_(False))
                                .order_by(MailingList.name)))
