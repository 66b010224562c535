"""A send in progress, made directly in the database: a list, confirmed subscribers, a rendered digest and its
ledger rows, for testing the delivery engine without the rest of the pipeline."""

from __future__ import annotations

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


def make_send(session: Session, recipients: list[str], *, list_name: str = "news") -> int:
    """A digest in SENDING with one pending ledger row per recipient; returns the digest id."""
    mailing_list = MailingList(name=list_name, cadence="daily", send_at="08:00", timezone="UTC")
    session.add(mailing_list)
    session.flush()
    digest = Digest(list_id=mailing_list.id, subject="news: a post", post_count=1, recipient_count=len(recipients),
                    html=f'<p>Hi {NAME},</p><p><a href="{UNSUBSCRIBE_URL}">Unsubscribe</a></p>',
                    text=f"Hi {NAME},\n\nUnsubscribe: {UNSUBSCRIBE_URL}\n")
    session.add(digest)
    session.flush()
    now = utcnow()
    ids = session.scalars(insert(Subscriber).returning(Subscriber.id),
                          [{"email": email, "name": None, "created_at": now} for email in recipients]).all()
    session.execute(insert(Delivery), [
        {"digest_id": digest.id, "subscriber_id": sid, "email": email, "status": "pending", "attempts": 0,
         "created_at": now} for sid, email in zip(ids, recipients)])
    session.commit()
    return digest.id
