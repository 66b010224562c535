"""The numbers behind the /ops charts: messages sent per minute (24 h), failures by kind, subscribers over
time. Grouped in the database (a day of sends can be a million events), so the page reads a few hundred rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from publisher.models import DeliveryEvent, DeliveryStatus, Subscription, SubscriptionStatus
from publisher.store import counters
from publisher.store.poll_counts import POLL_ERRORS

DAY = timedelta(hours=24)
SUBSCRIBER_DAYS = 90


def _bucket(session: Session, column, unit: str):
    """The column truncated to the minute or the day, as text, on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.date_trunc(unit, column), "YYYY-MM-DD HH24:MI" if unit == "minute" else "YYYY-MM-DD")
    # SQLite keeps our UTC datetimes as ISO text ("2026-11-30 20:03:49.123456"): a prefix is the truncation,
    # several times cheaper than strftime() over a day of events.
    return func.substr(column, 1, 16 if unit == "minute" else 10)


def sent_per_minute(session: Session, *, now: datetime) -> list[tuple[datetime, int]]:
    """One point per minute of the last 24 h (1,440), zero where nothing was sent."""
    minute = _bucket(session, DeliveryEvent.at, "minute")
    counted = dict(session.execute(
        select(minute, func.count()).where(DeliveryEvent.status == DeliveryStatus.SENT.value,
                                           DeliveryEvent.at >= now - DAY).group_by(minute)).all())
    start = now.replace(second=0, microsecond=0) - DAY + timedelta(minutes=1)
    points = [start + timedelta(minutes=i) for i in range(24 * 60)]
    return [(p, counted.get(p.strftime("%Y-%m-%d %H:%M"), 0)) for p in points]


def failures_by_kind(session: Session, *, now: datetime) -> list[tuple[str, int]]:
    """Delivery failures of the last 24 h by kind, then feed poll errors by kind (all time)."""
    kinds = (DeliveryStatus.SOFT_FAILED, DeliveryStatus.HARD_FAILED, DeliveryStatus.UNKNOWN)
    counted = dict(session.execute(
        select(DeliveryEvent.status, func.count()).where(DeliveryEvent.status.in_([k.value for k in kinds]),
                                                         DeliveryEvent.at >= now - DAY)
        .group_by(DeliveryEvent.status)).all())
    bars = [(f"mail {k.value.replace('_', '-')} (24 h)", counted.get(k.value, 0)) for k in kinds]
    polls = counters.read(session, POLL_ERRORS).get(POLL_ERRORS, {})
    bars += sorted((f"feed {counters.parse_labels(key).get('kind', '?')}", int(v)) for key, v in polls.items())
    return bars


def subscribers_over_time(session: Session, *, now: datetime) -> list[tuple[datetime, int]]:
    """Confirmed subscriptions at the end of each of the last 90 days (a subscription counts from its
    confirmation; one that has ended is not counted at any day, as its end date is not kept)."""
    day = _bucket(session, Subscription.confirmed_at, "day")
    start = (now - timedelta(days=SUBSCRIBER_DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    confirmed = Subscription.status == SubscriptionStatus.CONFIRMED.value
    before = session.scalar(select(func.count()).where(confirmed, Subscription.confirmed_at < start)) or 0
    per_day = dict(session.execute(select(day, func.count()).where(confirmed, Subscription.confirmed_at >= start)
                                   .group_by(day)).all())
    points, total = [], before
    for i in range(SUBSCRIBER_DAYS):
        date = start + timedelta(days=i)
        total += per_day.get(date.strftime("%Y-%m-%d"), 0)
        points.append((date, total))
    return points
