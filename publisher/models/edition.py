"""The scheduler's record of the editions of a list (cadence x time zone) and the slot each last fired at."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from publisher.models.base import Base, UTCDateTime


class EditionSlot(Base):
    """The latest send slot handled for one edition of a list (cadence x time zone): fires once."""

    __tablename__ = "edition_slots"

    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    cadence: Mapped[str] = mapped_column(String(20), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
