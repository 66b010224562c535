"""A send in progress, made directly in the database: a list, confirmed subscribers, a rendered digest and its
ledger rows, for testing the delivery engine without the rest of the pipeline."""

from __future__ import annotations

import hashlib
import html
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from publisher.compose.render import NAME, UNSUBSCRIBE_URL
from publisher.config import Settings
from publisher.db import make_engine
from publisher.models import Delivery, Digest, MailingList, Subscriber
from publisher.models.base import utcnow


def ledger_settings(tmp_path: Path, database_url: str | None = None, **overrides) -> Settings:
    values = dict(database_url=database_url or f"sqlite:///{tmp_path / 'ledger.db'}", secret_key="k" * 32,
                  sender="Blog <news@example.org>", base_url="https://news.example.org",
                  outbox_dir=tmp_path / "outbox", data_dir=tmp_path / ".publisher", retry_base_seconds=60)
    values.update(overrides)
    return Settings(**values)


def open_session(settings: Settings, *, migrate: bool = True) -> Session:
    from alembic import command

    from publisher.services.database import _alembic_config

    engine = make_engine(settings.database_url)
    if migrate:  # Alembic is not thread-safe: migrate once, then open more sessions with migrate=False
        config = _alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
    return sessionmaker(engine, expire_on_commit=False)()


def make_send(session: Session, recipients: list[str | tuple[str, str | None]], *, list_name: str = "news") -> int:
    """A digest in SENDING with one pending ledger row per recipient (an address, or an (address, name)
    pair); returns the digest id."""
    people = [(r, None) if isinstance(r, str) else r for r in recipients]
    mailing_list = MailingList(name=list_name, cadence="daily", send_at="08:00", timezone="UTC")
    session.add(mailing_list)
    session.flush()
    digest = Digest(list_id=mailing_list.id, subject="news: a post", post_count=1, recipient_count=len(recipients),
                    html=f'<p>Hi {NAME},</p><p><a href="{UNSUBSCRIBE_URL}">Unsubscribe</a></p>',
                    text=f"Hi {NAME},\n\nUnsubscribe: {UNSUBSCRIBE_URL}\n")
    session.add(digest)
    session.flush()
    now = utcnow()
    if not people:
        session.commit()
        return digest.id
    ids = session.scalars(insert(Subscriber).returning(Subscriber.id),
                          [{"email": email, "name": name, "created_at": now} for email, name in people]).all()
    session.execute(insert(Delivery), [
        {"digest_id": digest.id, "subscriber_id": sid, "email": email, "name": name, "status": "pending",
         "attempts": 0, "created_at": now} for sid, (email, name) in zip(ids, people)])
    session.commit()
    return digest.id


def make_list(session: Session, recipients: list[str], *, name: str = "news", **list_options) -> MailingList:
    """A list on one feed (already baselined) with these confirmed subscribers, and no posts yet."""
    from publisher.models import Feed, ListFeed, Subscription

    now = utcnow()
    feed = Feed(url=f"https://{name}.example.org/feeds/posts/default", title=f"{name} blog", baseline_at=now)
    mailing_list = MailingList(name=name, **({"cadence": "immediate", "send_at": "08:00", "timezone": "UTC"}
                                             | list_options))
    session.add_all([feed, mailing_list])
    session.flush()
    session.add(ListFeed(list_id=mailing_list.id, feed_id=feed.id, added_at=now - timedelta(days=1)))
    ids = session.scalars(insert(Subscriber).returning(Subscriber.id),
                          [{"email": email, "name": None, "created_at": now} for email in recipients]).all()
    if ids:
        session.execute(insert(Subscription), [
            {"list_id": mailing_list.id, "subscriber_id": sid, "status": "confirmed", "created_at": now,
             "confirmed_at": now, "source": "test"} for sid in ids])
    session.commit()
    return mailing_list


def add_posts(session: Session, mailing_list: MailingList, titles: list[str]) -> None:
    """New posts (news, not baseline) on the list's feed, first seen now."""
    from sqlalchemy import select

    from publisher.models import ListFeed, Post

    feed_id = session.scalar(select(ListFeed.feed_id).where(ListFeed.list_id == mailing_list.id))
    for title in titles:
        key = hashlib.sha256(f"{feed_id}:{title}:{utcnow().isoformat()}".encode()).hexdigest()
        session.add(Post(feed_id=feed_id, identity=key, identity_hash=key, title=title,
                         link=f"https://{mailing_list.name}.example.org/{key[:12]}.html", author="Author",
                         content_html=f"<p>{html.escape(title)}</p>", content_hash=key,
                         published_at=utcnow(), first_seen_at=utcnow()))
    session.commit()


def hand_back_everything(session: Session, settings: Settings) -> list[int]:
    """The sweeper, long after now: every claim has expired and every retry is due."""
    from publisher.services import delivery

    session.execute(Delivery.__table__.update().where(Delivery.status == "soft_failed")
                    .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    return delivery.sweep(session, settings, now=utcnow() + timedelta(hours=1))
