"""Named queries on subscription watermarks: who has seen the posts up to when.

A watermark is where the digest that last reached a subscriber stopped, so a list of a million people holds
few distinct ones: the audience of an edition is read grouped by watermark, and chosen again by a condition
(`edition_clause` & `watermark_clause`) when it is frozen, never as a list of ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session

from publisher.models import Digest, MailingList, Subscription, SubscriptionStatus


def audience_watermarks(session: Session, mailing_list: MailingList, *, cadence: str | None,
                        timezone: str | None) -> list[tuple[datetime | None, int]]:
    """(seen_until, how many subscribers hold it) over the confirmed subscribers of this cadence and time
    zone (None: any)."""
    query = (select(Subscription.seen_until, func.count())
             .where(Subscription.list_id == mailing_list.id, Subscription.status == SubscriptionStatus.CONFIRMED,
                    edition_clause(mailing_list, cadence=cadence, timezone=timezone))
             .group_by(Subscription.seen_until))
    return [(row[0], row[1]) for row in session.execute(query)]


def edition_clause(mailing_list: MailingList, *, cadence: str | None, timezone: str | None
                   ) -> ColumnElement[bool]:
    """The subscriptions whose effective cadence and time zone are these (None: any)."""
    clause = true()
    if cadence is not None:
        clause &= func.coalesce(Subscription.cadence, mailing_list.cadence) == cadence
    if timezone is not None:
        clause &= func.coalesce(Subscription.timezone, mailing_list.timezone) == timezone
    return clause


def watermark_clause(marks: Sequence[datetime | None]) -> ColumnElement[bool]:
    """The subscriptions whose watermark is one of these."""
    known = [mark for mark in marks if mark is not None]
    clause = Subscription.seen_until.in_(known) if known else false()
    return or_(clause, Subscription.seen_until.is_(None)) if None in marks else clause


def list_watermark(session: Session, list_id: int) -> datetime | None:
    """Where a newly confirmed subscriber starts: after the list's latest digest (None: from the start,
    so a first digest with backfilled posts reaches early subscribers too)."""
    return session.scalar(select(func.max(func.coalesce(Digest.cutoff_at, Digest.created_at)))
                          .where(Digest.list_id == list_id))
