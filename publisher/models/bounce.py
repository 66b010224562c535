"""Bounce and complaint reports: the ones tied to a subscriber we sent to, and the ones we could not trust."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from publisher.models.base import Base, UTCDateTime, utcnow


class BounceEvent(Base):
    """A parsed DSN or complaint, for the soft-bounce count and for the person's data export."""

    __tablename__ = "bounce_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    digest_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # hard, soft, complaint
    status: Mapped[str | None] = mapped_column(String(20))  # RFC 3463 code, e.g. 5.1.1
    diagnostic: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnverifiedReport(Base):
    """A bounce or complaint that named nobody we can trust it about (no signed VERP address, no signed
    Message-ID of a delivery we still hold): counted for ops, never acted on. It keeps no address a
    report's body names; the envelope recipient is one of our own intake addresses."""

    __tablename__ = "unverified_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # hard, soft, complaint: what it claimed
    reason: Mapped[str] = mapped_column(String(200))  # why it was not believed
    rcpt: Mapped[str | None] = mapped_column(String(320))  # the envelope recipient it came to
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
