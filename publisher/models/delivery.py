from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from publisher.models.base import Base, UTCDateTime, utcnow


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"          # claimed by a worker under a lease; the sweeper hands it back if the lease ends
    SENT = "sent"                # the SMTP server said 250 (or the .eml was written)
    SOFT_FAILED = "soft_failed"  # 4xx: retried after next_attempt_at
    HARD_FAILED = "hard_failed"  # 5xx: never retried
    UNKNOWN = "unknown"          # connection lost after DATA: maybe delivered, never silently retried
    CANCELLED = "cancelled"      # the send was cancelled before this row was attempted


UNSETTLED = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.SOFT_FAILED)


class Delivery(Base):
    """The ledger: one row per digest x subscriber. It moves to SENT only after the server accepted."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("digest_id", "subscriber_id"),
        Index("ix_deliveries_digest_status", "digest_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    # Frozen when the send starts: a later change of address does not move a send in flight.
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_reply: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who holds a SENDING row (one token per batch run) and until when: a live worker renews the lease, so
    # the sweeper hands back only the rows of a worker that died (within a lease of its death).
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryEvent(Base):
    """Every state change of a ledger row, with its time and the server's reply: the audit trail."""

    __tablename__ = "delivery_events"
    # Ops read events by kind and time: messages sent per minute, failures by kind, /metrics totals.
    __table_args__ = (Index("ix_delivery_events_status_at", "status", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    reply: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
