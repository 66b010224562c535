"""Named queries on mailing lists and their feeds."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from publisher.models import DigestPost, ListFeed, MailingList, Post


def by_name(session: Session, name: str) -> MailingList | None:
    return session.scalar(select(MailingList).where(MailingList.name == name))


def all_lists(session: Session) -> list[MailingList]:
    return list(session.scalars(select(MailingList).order_by(MailingList.name)))


def feed_ever_sent(session: Session, feed_id: int) -> bool:
    """Has any digest (of any list) carried a post of this feed?"""
    return bool(session.scalar(select(exists().where(DigestPost.post_id == Post.id, Post.feed_id == feed_id))))


def feed_links(session: Session, list_id: int) -> dict[int, ListFeed]:
    """The list's feeds, by feed id."""
    return {link.feed_id: link for link in session.scalars(select(ListFeed).where(ListFeed.list_id == list_id))}
