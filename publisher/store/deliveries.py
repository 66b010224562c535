"""Named queries on the delivery ledger. Every state change is a conditional UPDATE, so a task that runs
twice, or two workers on one batch, cannot send the same row twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from publisher.models import Delivery, DeliveryStatus, Subscriber, Subscription, SubscriptionStatus
from publisher.models.base import utcnow
from publisher.models.delivery import UNSETTLED


def freeze_audience(session: Session, *, digest_id: int, list_id: int) -> int:
    """One pending row per confirmed subscriber, copied now: later sign-ups wait for the next digest."""
    audience = (
        select(
            Subscriber.id.label("subscriber_id"),
            Subscriber.email,
            Subscriber.name,
        )
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.list_id == list_id, Subscription.status == SubscriptionStatus.CONFIRMED)
        .order_by(Subscriber.id)
    )
    rows = [
        {"digest_id": digest_id, "subscriber_id": r.subscriber_id, "email": r.email, "name": r.name,
         "status": DeliveryStatus.PENDING.value, "attempts": 0, "created_at": utcnow()}
        for r in session.execute(audience)
    ]
    if rows:
        session.execute(insert(Delivery), rows)
    return len(rows)


def batch_starts(session: Session, *, digest_id: int, batch_size: int) -> list[int]:
    """The `after_id` of each batch of pending rows: batch k covers ids in (starts[k], starts[k+1]]."""
    ids = session.scalars(
        select(Delivery.id)
        .where(Delivery.digest_id == digest_id, Delivery.status == DeliveryStatus.PENDING)
        .order_by(Delivery.id)
    ).all()
    return [(ids[i - 1] if i else 0) for i in range(0, len(ids), batch_size)]


def claim_pending(
    session: Session, *, digest_id: int, after_id: int, limit: int, now: datetime
) -> Sequence[Delivery]:
    """Move up to `limit` pending rows after `after_id` to SENDING and return those this caller won."""
    session.commit()  # start from a fresh snapshot: SQLite cannot upgrade a stale read to a write
    candidates = (
        select(Delivery.id)
        .where(Delivery.digest_id == digest_id, Delivery.id > after_id,
               Delivery.status == DeliveryStatus.PENDING)
        .order_by(Delivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Rows another worker is claiming right now are skipped, not waited for.
        candidates = candidates.with_for_update(skip_locked=True)
    # One statement: on SQLite it is atomic by itself, on PostgreSQL the row locks make it so.
    won = session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(candidates.scalar_subquery()), Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SENDING.value, claimed_at=now)
        .returning(Delivery.id)
    ).all()
    session.commit()
    if not won:
        return []
    return session.scalars(select(Delivery).where(Delivery.id.in_(won)).order_by(Delivery.id)).all()


def settle(session: Session, delivery_id: int, *, status: DeliveryStatus, reply: str,
           now: datetime, next_attempt_at: datetime | None = None) -> None:
    """Record the outcome of one attempt; only a row we hold in SENDING moves."""
    values = {"status": status.value, "last_reply": reply[:1000], "attempts": Delivery.attempts + 1,
              "next_attempt_at": next_attempt_at}
    if status is DeliveryStatus.SENT:
        values["sent_at"] = now
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.SENDING)
        .values(**values)
    )
    session.commit()


def release(session: Session, delivery_ids: Sequence[int]) -> None:
    """Hand claimed rows back untouched (the mail server could not be reached at all)."""
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.PENDING.value, claimed_at=None)
    )
    session.commit()


def requeue_stuck_and_due(session: Session, *, now: datetime, sending_timeout: timedelta) -> list[int]:
    """Sweeper: rows left in SENDING by a dead worker, and soft failures whose time has come, go back to
    PENDING. Returns the digests that have work again."""
    stuck = and_(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < now - sending_timeout)
    due = and_(Delivery.status == DeliveryStatus.SOFT_FAILED, Delivery.next_attempt_at <= now)
    digest_ids = session.scalars(
        update(Delivery)
        .where(stuck | due)
        .values(status=DeliveryStatus.PENDING.value, claimed_at=None)
        .returning(Delivery.digest_id)
    ).all()
    session.commit()
    return sorted(set(digest_ids))


def progress(session: Session, digest_id: int) -> dict[str, int]:
    """Count of ledger rows per status for one digest (every status present, zero when none)."""
    counts = dict(
        session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.digest_id == digest_id)
            .group_by(Delivery.status)
        ).all()
    )
    return {status.value: counts.get(status.value, 0) for status in DeliveryStatus}


def unsettled_count(session: Session, digest_id: int) -> int:
    return session.scalar(
        select(func.count()).where(Delivery.digest_id == digest_id, Delivery.status.in_(UNSETTLED))
    )
