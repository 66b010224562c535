"""The dashboard's "next digest": the first slot after now, in the edition's own zone, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from publisher.compose.schedule import latest_slot, next_slot

MONDAY_EVENING = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize("cadence, send_at, zone, weekday, expected", [
    ("daily", "08:00", "Europe/Paris", 0, datetime(2026, 12, 1, 7, 0, tzinfo=UTC)),
    ("daily", "21:30", "UTC", 0, datetime(2026, 11, 30, 21, 30, tzinfo=UTC)),  # later today
    ("weekly", "08:00", "Europe/Paris", 2, datetime(2026, 12, 2, 7, 0, tzinfo=UTC)),  # Wednesday
    ("weekly", "19:00", "UTC", 0, datetime(2026, 12, 7, 19, 0, tzinfo=UTC)),  # today's passed: next Monday
    ("monthly", "08:00", "America/New_York", 0, datetime(2026, 12, 1, 13, 0, tzinfo=UTC)),
])
def test_next_slot(cadence, send_at, zone, weekday, expected):
    assert next_slot(MONDAY_EVENING, cadence=cadence, send_at=send_at, timezone=zone, weekday=weekday) == expected


def test_immediate_has_no_slot():
    assert next_slot(MONDAY_EVENING, cadence="immediate", send_at="08:00", timezone="UTC") is None


def test_across_the_spring_change_the_wall_clock_stays():
    before = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)  # Paris moves to summer time on the 28th
    slot = next_slot(before, cadence="daily", send_at="08:00", timezone="Europe/Paris")
    assert slot == datetime(2027, 3, 28, 6, 0, tzinfo=UTC)  # 08:00 CEST


@pytest.mark.parametrize("cadence", ["daily", "weekly", "monthly"])
def test_the_next_slot_is_the_one_the_scheduler_fires_next(cadence):
    """Just after it, latest_slot (what the scheduler fires) names the same instant; just before, the one
    before it."""
    for hours in range(0, 24 * 40, 7):
        now = MONDAY_EVENING + timedelta(hours=hours)
        slot = next_slot(now, cadence=cadence, send_at="06:45", timezone="Asia/Kolkata", weekday=4)
        assert slot > now
        assert latest_slot(slot, cadence=cadence, send_at="06:45", timezone="Asia/Kolkata", weekday=4) == slot
        assert latest_slot(slot - timedelta(seconds=1), cadence=cadence, send_at="06:45",
                           timezone="Asia/Kolkata", weekday=4) <= now
