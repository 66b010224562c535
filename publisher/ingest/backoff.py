"""When to poll a feed next: adaptive interval, server hints (Cache-Control, Retry-After), backoff with jitter.

Pure functions of values; the service applies them to a Feed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

GROWTH = 1.5  # a quiet poll stretches the interval by this factor...
SHRINK = 0.5  # ...and a poll that found news shortens it by this one
MAX_BACKOFF_DOUBLINGS = 10


def next_interval(current: float, *, found_news: bool, lower: float, upper: float) -> float:
    """Active feeds are polled sooner, quiet ones later, always within [lower, upper] minutes."""
    interval = current * (SHRINK if found_news else GROWTH)
    return min(max(interval, lower), upper)


def after_success(now: datetime, interval: float, *, max_age: int | None, upper: float) -> datetime:
    """Next poll after a good answer: the interval with ±10% jitter (so feeds added together spread out),
    never sooner than the server's Cache-Control max-age allows, never later than `upper` minutes."""
    minutes = interval * random.uniform(0.9, 1.1)
    if max_age:
        minutes = max(minutes, max_age / 60)
    return now + timedelta(minutes=min(minutes, upper))


def after_failure(now: datetime, interval: float, failures: int, *, retry_after: str | None,
                  upper: float) -> datetime:
    """Exponential backoff with jitter, capped at `upper` minutes; a Retry-After from the server wins when
    it asks for more patience than that."""
    backoff = interval * 2 ** min(max(failures - 1, 0), MAX_BACKOFF_DOUBLINGS)
    minutes = min(backoff, upper) * random.uniform(0.8, 1.2)
    wait = retry_after_seconds(retry_after, now)
    if wait is not None:
        minutes = max(minutes, min(wait / 60, upper))
    return now + timedelta(minutes=minutes)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from `now`: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
