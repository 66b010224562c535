"""What keeps mail from people who must not get it."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
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
