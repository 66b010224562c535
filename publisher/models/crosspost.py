"""Cross-posting: the targets (social accounts, webhooks) and the ledger, one row per post x target."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from publisher.models.base import Base, UTCDateTime, utcnow


class CrosspostStatus(enum.StrEnum):
    PENDING = "pending"    # waiting for a worker
    SENDING = "sending"    # claimed by a worker; the sweeper hands it back if the worker dies
    POSTED = "posted"      # the platform said 2xx: remote_id and remote_url say where
    RETRYING = "retrying"  # a timeout, a 5xx or a 429: tried again at next_attempt_at, with the same key
    FAILED = "failed"      # refused for good (a 4xx, credentials refused) or given up after max attempts
    SKIPPED = "skipped"    # never to be posted (older than the target's maximum age, no link): last_error says why


UNSETTLED = (CrosspostStatus.PENDING, CrosspostStatus.SENDING, CrosspostStatus.RETRYING)


class CrosspostTarget(Base):
    """A Mastodon account, a Bluesky account or a webhook. Secrets are Fernet tokens (key derived from the
    publisher's secret key), never plain text."""

    __tablename__ = "crosspost_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    platform: Mapped[str] = mapped_column(String(20))  # mastodon | bluesky | webhook
    url: Mapped[str] = mapped_column(String(2048))  # the instance, the PDS service, or the webhook URL
    handle: Mapped[str | None] = mapped_column(String(300))  # Bluesky
    credentials: Mapped[str | None] = mapped_column(Text)  # encrypted token / app password / webhook secret
    session_state: Mapped[str | None] = mapped_column(Text)  # encrypted Bluesky session (access, refresh JWTs)
    on_edit: Mapped[str] = mapped_column(String(10), default="skip")  # skip | edit
    max_age_hours: Mapped[float | None] = mapped_column(Float)  # None: PUBLISHER_CROSSPOST_MAX_AGE_HOURS
    hashtags: Mapped[bool] = mapped_column(Boolean, default=True)
    limits: Mapped[dict | None] = mapped_column(JSON)  # what the instance said: max_characters, url length
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CrosspostTargetFeed(Base):
    """The feeds a target follows; a target without rows here follows every feed."""

    __tablename__ = "crosspost_target_feeds"

    target_id: Mapped[int] = mapped_column(ForeignKey("crosspost_targets.id", ondelete="CASCADE"), primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True)


class Crosspost(Base):
    """The ledger: one row per post x target, created when the watcher records the post as news. It moves to
    POSTED only after the platform said so."""

    __tablename__ = "crossposts"
    __table_args__ = (
        UniqueConstraint("post_id", "target_id"),
        Index("ix_crossposts_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("crosspost_targets.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=CrosspostStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Stable per post x target: Mastodon's Idempotency-Key, Bluesky's record key, the webhook's event id.
    remote_key: Mapped[str] = mapped_column(String(100))
    remote_id: Mapped[str | None] = mapped_column(String(500))
    remote_url: Mapped[str | None] = mapped_column(String(2048))
    text: Mapped[str | None] = mapped_column(Text)  # what was posted, as posted
    posted_hash: Mapped[str | None] = mapped_column(String(64))  # the post's content hash when posted
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last queued (stall detection)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CrosspostEvent(Base):
    """Every state change of a cross-post, with its time and what the platform answered."""

    __tablename__ = "crosspost_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    crosspost_id: Mapped[int] = mapped_column(ForeignKey("crossposts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    reply: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
