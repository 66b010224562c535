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


def _at(day: date, send_at: str, zone: ZoneInfo) -> datetime:
    hour, minute = (int(part) for part in send_at.split(":"))
    # A wall time that does not exist (the spring-forward gap) resolves to the hour after; a repeated one
    # (autumn) to its first occurrence: fold=0 gives exactly that with zoneinfo.
    local = datetime.combine(day, time(hour, minute), tzinfo=zone)
    return local.astimezone(UTC)
