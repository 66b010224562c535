"""What keeps mail from people who must not get it, and the traces that abuse limits count."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from publisher.models.base import Base, UTCDateTime, utcnow


def address_hash(email: str) -> str:
    """Stable across secret-key changes, so a wiped person stays suppressed whatever happens to the key."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class Suppression(Base):
    """An address that gets no more mail: from every list (list_id None), or from one list (an unsubscribe)."""

    __tablename__ = "suppressions"
    __table_args__ = (Index("ix_suppressions_hash_list", "email_hash", "list_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320), index=True)  # None after a GDPR wipe
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(40))  # unsubscribe, hard_bounce, soft_bounces, complaint, wiped, ...
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RateEvent(Base):
    """One counted action (an accepted sign-up per IP, a confirmation mail per address). Kept in the
    database so every web process and every machine counts against the same limits."""

    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_kind_key_at", "kind", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(64))  # a hash: no address or IP in clear
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class EditionSlot(Base):
    """The latest send slot handled for one edition of a list (cadence x time zone): fires once."""

    __tablename__ = "edition_slots"

    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    cadence: Mapped[str] = mapped_column(String(20), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
