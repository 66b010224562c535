"""Named queries on subscription watermarks: who has seen the posts up to when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from publisher.models import Digest, MailingList, Subscription, SubscriptionStatus
from publisher.store import chunked


def audience_watermarks(session: Session, mailing_list: MailingList, *, cadence: str | None,
                        timezone: str | None) -> list[tuple[int, datetime | None]]:
    """(subscriber id, seen_until) of the confirmed subscribers of this cadence and time zone (None: any)."""
    query = select(Subscription.subscriber_id, Subscription.seen_until).where(
        Subscription.list_id == mailing_list.id, Subscription.status == SubscriptionStatus.CONFIRMED)
    if cadence is not None:
        query = query.where(func.coalesce(Subscription.cadence, mailing_list.cadence) == cadence)
    if timezone is not None:
        query = query.where(func.coalesce(Subscription.timezone, mailing_list.timezone) == timezone)
    return [(row.subscriber_id, row.seen_until) for row in session.execute(query.order_by(Subscription.id))]


def advance_watermarks(session: Session, list_id: int, members: Sequence[int], *, before: datetime,
                       to: datetime) -> list[int]:
    """Move the watermarks of these subscribers that still lie before `before` to `to` (a conditional
    UPDATE: of two composers, one wins each subscriber). The subscribers won."""
    won: list[int] = []
    for part in chunked(members):
        won += session.scalars(
            update(Subscription)
            .where(Subscription.list_id == list_id, Subscription.subscriber_id.in_(part),
                   Subscription.status == SubscriptionStatus.CONFIRMED,
                   or_(Subscription.seen_until.is_(None), Subscription.seen_until < before))
            .values(seen_until=to)
            .returning(Subscription.subscriber_id)
        ).all()
    return sorted(won)


def list_watermark(session: Session, list_id: int) -> datetime | None:
    """Where a newly confirmed subscriber starts: after the list's latest digest (None: from the start,
    so a first digest with backfilled posts reaches early subscribers too)."""
    return session.scalar(select(func.max(func.coalesce(Digest.cutoff_at, Digest.created_at)))
                          .where(Digest.list_id == list_id))
