"""Named queries that create ledger rows: the audience of a send, frozen when it starts.
The state machine of those rows lives in publisher.store.ledger.

Freezing is set-based: the database moves the watermarks and copies the audience into the ledger itself
(INSERT ... SELECT), so a list of a million subscribers never passes through the composing process's memory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from publisher.models import Delivery, DeliveryStatus, Subscriber, Subscription, SubscriptionStatus
from publisher.models.base import UTCDateTime, utcnow
from publisher.store.suppressions import suppressed_clause

_COLUMNS = ["digest_id", "subscriber_id", "email", "name", "status", "attempts", "created_at"]


@dataclass(frozen=True)
class Frozen:
    advanced: int  # subscribers whose watermark this digest moved (they are its audience)
    recipients: int  # ledger rows made: the audience less the suppressed addresses


def freeze_audience(session: Session, *, digest_id: int, list_id: int, audience: ColumnElement[bool],
                    before: datetime, to: datetime) -> Frozen:
    """Move the watermark of the list's confirmed subscribers matching `audience` (a condition on
    Subscription) to `to`, if it still lies before `before`, and make one pending ledger row per unsuppressed
    one of them. The watermark condition makes two composers racing on one list split the audience, never
    share it: on PostgreSQL the UPDATE's row locks decide, and the rows come from what it returned."""
    won = _won(list_id, audience, before)
    if session.get_bind().dialect.name == "postgresql":
        moved = update(Subscription).where(won).values(seen_until=to).returning(Subscription.subscriber_id) \
            .cte("moved")
        made = insert(Delivery).from_select(_COLUMNS, _rows(digest_id, list_id).join_from(
            moved, Subscriber, Subscriber.id == moved.c.subscriber_id)).returning(Delivery.id).cte("made")
        counts = session.execute(select(select(func.count()).select_from(moved).scalar_subquery(),
                                        select(func.count()).select_from(made).scalar_subquery())).one()
        _forget_watermarks(session)
        return Frozen(advanced=counts[0], recipients=counts[1])
    # SQLite: one writer at a time, so the rows the INSERT reads are still the ones the UPDATE then moves.
    recipients = session.execute(insert(Delivery).from_select(_COLUMNS, _rows(digest_id, list_id).join_from(
        Subscription, Subscriber, Subscriber.id == Subscription.subscriber_id).where(won))).rowcount
    return Frozen(advanced=advance_watermarks(session, list_id=list_id, audience=audience, before=before, to=to),
                  recipients=recipients)


def advance_watermarks(session: Session, *, list_id: int, audience: ColumnElement[bool], before: datetime,
                       to: datetime) -> int:
    """Only the watermarks (a digest that failed to render: its audience moves on to later posts)."""
    moved = session.execute(update(Subscription).where(_won(list_id, audience, before)).values(seen_until=to)
                            .execution_options(synchronize_session=False)).rowcount
    _forget_watermarks(session)
    return moved


def _forget_watermarks(session: Session) -> None:
    """Subscriptions this session holds read their watermark again: the database moved them, not the ORM."""
    for instance in list(session.identity_map.values()):
        if isinstance(instance, Subscription):
            session.expire(instance, ["seen_until"])


def _won(list_id: int, audience: ColumnElement[bool], before: datetime) -> ColumnElement[bool]:
    return (Subscription.list_id == list_id) & (Subscription.status == SubscriptionStatus.CONFIRMED) & audience \
        & or_(Subscription.seen_until.is_(None), Subscription.seen_until < before)


def _rows(digest_id: int, list_id: int):
    return (
        select(literal(digest_id), Subscriber.id, Subscriber.email, Subscriber.name,
               literal(DeliveryStatus.PENDING.value), literal(0), literal(utcnow(), UTCDateTime()))
        .where(~suppressed_clause(Subscriber.email, list_id))
    )  # no ORDER BY: batches are ranges of ledger ids, whatever order the rows came in (a million sorted spill)
