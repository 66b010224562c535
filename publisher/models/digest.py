from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from publisher.models.base import Base, UTCDateTime, utcnow


class DigestStatus(enum.StrEnum):
    SENDING = "sending"      # audience frozen, deliveries under way
    SENT = "sent"            # every delivery settled
    CANCELLED = "cancelled"


class Digest(Base):
    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=DigestStatus.SENDING.value)
    # Rendered once; per recipient only placeholders are substituted.
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    post_count: Mapped[int] = mapped_column(Integer)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestPost(Base):
    """Which posts a digest carried. UNIQUE(list_id, post_id): a list sends each post once, ever."""

    __tablename__ = "digest_posts"
    __table_args__ = (UniqueConstraint("list_id", "post_id"),)

    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
