from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from publisher.models.base import Base, UTCDateTime, utcnow


class DigestStatus(enum.StrEnum):
    SENDING = "sending"      # audience frozen, deliveries under way
    PAUSED = "paused"        # by a person, or by us when the mail server refuses our login or TLS
    SENT = "sent"            # every delivery settled
    CANCELLED = "cancelled"  # stopped for good: rows not yet attempted are cancelled
    FAILED = "failed"        # could not be rendered or prepared: nothing sent, the reason kept, never retried
                             # by itself (`digest resume` after a fix, or `digest cancel` to let it go)


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
    # Why the send is paused or failed, in plain words ("SMTP login refused ..."), shown by `publisher status`.
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Which edition of the list this is ("daily Europe/Paris 2026-11-26T07:00Z", "now" ...), and the instant
    # its posts were chosen up to: subscribers' seen_until moves to cutoff_at (see services.digests).
    edition: Mapped[str | None] = mapped_column(String(120))
    cutoff_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The editor's note above the posts, as it went out (the subject is in `subject`); None: no note.
    intro_note: Mapped[str | None] = mapped_column(Text)


class DigestPost(Base):
    """Which posts a digest carried. A post may go out in several editions of a list (daily, weekly ...);
    each subscriber gets it once, which subscriptions.seen_until guarantees."""

    __tablename__ = "digest_posts"

    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)


class DigestDraft(Base):
    """What an editor wrote for a list's NEXT digest, before it exists: an intro note shown above the posts
    and a subject replacing the template's. The digest composed next takes both (Digest.intro_note,
    Digest.subject) and the draft is deleted, so a note goes out once."""

    __tablename__ = "digest_drafts"

    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    subject: Mapped[str | None] = mapped_column(Text)  # None: the template's subject
    intro_note: Mapped[str | None] = mapped_column(Text)  # plain text; blank lines separate paragraphs
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(320))  # the editor's email, for the page
