"""Which posts go into a list's next digest."""

from __future__ import annotations

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from publisher.compose.render import DigestPost as RenderPost
from publisher.models import DigestPost, Feed, ListFeed, MailingList, Post


def new_posts_for_list(session: Session, mailing_list: MailingList) -> list[Post]:
    """Posts of the list's feeds that are news (not baseline), arrived after the feed joined the list, and
    that no earlier digest of this list carried. Oldest first, so a digest reads in order of publication."""
    already_sent = exists().where(DigestPost.list_id == mailing_list.id, DigestPost.post_id == Post.id)
    query = (
        select(Post)
        .join(ListFeed, and_(ListFeed.feed_id == Post.feed_id, ListFeed.list_id == mailing_list.id))
        .where(Post.is_baseline.is_(False), Post.first_seen_at >= ListFeed.added_at, ~already_sent)
        .order_by(func.coalesce(Post.published_at, Post.first_seen_at), Post.id)
    )
    return list(session.scalars(query))


def latest_posts_for_list(session: Session, mailing_list: MailingList, limit: int = 5) -> list[Post]:
    """For previews when nothing is new: the most recent posts of the list's feeds."""
    query = (
        select(Post)
        .join(ListFeed, and_(ListFeed.feed_id == Post.feed_id, ListFeed.list_id == mailing_list.id))
        .order_by(func.coalesce(Post.published_at, Post.first_seen_at).desc(), Post.id.desc())
        .limit(limit)
    )
    return list(reversed(session.scalars(query).all()))


def render_posts(session: Session, posts: list[Post]) -> list[RenderPost]:
    feeds = {f.id: f for f in session.scalars(select(Feed).where(Feed.id.in_({p.feed_id for p in posts})))}
    return [
        RenderPost(
            title=post.title, link=post.link, author=post.author, published=post.published_at,
            content_html=post.content_html, feed_title=feeds[post.feed_id].display_name,
            image_url=post.image_url,
        )
        for post in posts
    ]
