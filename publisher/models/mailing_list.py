from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from publisher.models.base import Base, UTCDateTime, utcnow
from publisher.models.feed import Feed


class Cadence(enum.StrEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"  # on the first day of the month


class MailingList(Base):
    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    sender: Mapped[str | None] = mapped_column(String(500))  # None: the PUBLISHER_FROM default
    cadence: Mapped[str] = mapped_column(String(20), default=Cadence.DAILY.value)
    send_at: Mapped[str] = mapped_column(String(5), default="08:00")  # HH:MM, local to timezone
    weekday: Mapped[int] = mapped_column(Integer, default=0)  # weekly editions: 0 = Monday
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    template: Mapped[str] = mapped_column(String(100), default="digest")
    # "full": each post's whole text in the digest; "excerpt": its first words and a Read more link.
    content_mode: Mapped[str] = mapped_column(String(20), default="full", server_default="full")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # The blog's identity as readers see it (subject, From name, header, pages). None: follow the first
    # feed's title and site link, so a blog renamed on Blogger is renamed here at the next poll.
    title: Mapped[str | None] = mapped_column(String(500))
    site_url: Mapped[str | None] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(Text)
    accent_color: Mapped[str | None] = mapped_column(String(7))  # "#rrggbb"
    logo_url: Mapped[str | None] = mapped_column(String(2048))
    # Shown on the home page with its archive; a private list keeps only its subscribe page.
    public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The latest send slot the scheduler has handled: a slot fires once, however many schedulers run.
    last_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    feeds: Mapped[list[Feed]] = relationship(secondary="list_feeds", order_by="Feed.id")


class ListFeed(Base):
    __tablename__ = "list_feeds"

    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True)
    # Posts first seen before the feed joined the list are history to this list, not news.
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
