"""When an edition is due: the most recent send slot at or before now, in the edition's own time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def latest_slot(now: datetime, *, cadence: str, send_at: str, timezone: str, weekday: int = 0) -> datetime | None:
    """The UTC instant of the latest slot <= now; None for `immediate`, which has no slots.
    Slots are wall-clock times, so 08:00 stays 08:00 across a daylight-saving change.
    weekly: on `weekday` (0 = Monday); monthly: on the first day of the month."""
    if cadence == "immediate":
        return None
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date()
    if cadence == "monthly":
        day = day.replace(day=1)
        while (slot := _at(day, send_at, zone)) > now:
            day = (day - timedelta(days=1)).replace(day=1)
        return slot
    step = 7 if cadence == "weekly" else 1
    if cadence == "weekly":
        day -= timedelta(days=(day.weekday() - weekday) % 7)
    while (slot := _at(day, send_at, zone)) > now:
        day -= timedelta(days=step)
    return slot


_HORIZON = {"daily": timedelta(days=2), "weekly": timedelta(days=8), "monthly": timedelta(days=32)}


def next_slot(now: datetime, *, cadence: str, send_at: str, timezone: str, weekday: int = 0) -> datetime | None:
    """The UTC instant of the first slot after now (for the editor's dashboard); None for `immediate`.
    The latest slot a horizon ahead, walked back while the slot before it is still in the future."""
    if cadence not in _HORIZON:
        return None
    schedule = dict(cadence=cadence, send_at=send_at, timezone=timezone, weekday=weekday)
    slot = latest_slot(now + _HORIZON[cadence], **schedule)
    while (earlier := latest_slot(slot - timedelta(microseconds=1), **schedule)) > now:
        slot = earlier
    return slot


def _at(day: date, send_at: str, zone: ZoneInfo) -> datetime:
    hour, minute = (int(part) for part in send_at.split(":"))
    # A wall time that does not exist (the spring-forward gap) resolves to the hour after; a repeated one
    # (autumn) to its first occurrence: fold=0 gives exactly that with zoneinfo.
    local = datetime.combine(day, time(hour, minute), tzinfo=zone)
    return local.astimezone(UTC)
