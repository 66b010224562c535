"""The traces that abuse limits count (sign-ups per network, confirmation mails per address)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from publisher.models.base import Base, UTCDateTime, utcnow


class RateEvent(Base):
    """One counted action (an accepted sign-up per IP, a confirmation mail per address). Kept in the
    database so every web process and every machine counts against the same limits."""

    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_kind_key_at", "kind", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(64))  # a hash: no address or IP in clear
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
