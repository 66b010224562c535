from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from publisher.models.base import Base, UTCDateTime, utcnow


class HubSubscription(Base):
    """Our WebSub subscription to a feed's hub: one per feed, renewed before its lease ends."""

    __tablename__ = "hub_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), unique=True)
    hub_url: Mapped[str] = mapped_column(String(2048))
    topic_url: Mapped[str] = mapped_column(String(2048))
    # requested (waiting for the hub's verification) | active | denied | failed | unsubscribed
    state: Mapped[str] = mapped_column(String(20), default="requested")
    # Per-subscription HMAC key for X-Hub-Signature; a new one on every (re)subscription.
    secret: Mapped[str] = mapped_column(String(200))
    lease_seconds: Mapped[int | None] = mapped_column(Integer)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
