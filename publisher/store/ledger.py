"""Named queries on the delivery ledger's state machine. Every change is a conditional UPDATE on the row's
current state, so a task that runs twice, or two workers on one batch, cannot send a row twice; and every
change leaves a DeliveryEvent with its time and the server's reply."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, insert, select, update
from sqlalchemy.orm import Session

from publisher.models import Delivery, DeliveryEvent, DeliveryStatus, Digest, DigestStatus
from publisher.models.delivery import UNSETTLED

_deliveries = Delivery.__table__


@dataclass(frozen=True)
class Outcome:
    """What one attempt at one row came to."""

    delivery_id: int
    status: DeliveryStatus
    reply: str
    next_attempt_at: datetime | None = None


def batch_starts(session: Session, *, digest_id: int, batch_size: int) -> list[int]:
    """The `after_id` of each batch of pending rows: batch k covers ids in (starts[k], starts[k+1]]."""
    ids = session.scalars(
        select(Delivery.id)
        .where(Delivery.digest_id == digest_id, Delivery.status == DeliveryStatus.PENDING)
        .order_by(Delivery.id)
    ).all()
    return [(ids[i - 1] if i else 0) for i in range(0, len(ids), batch_size)]


def claim_pending(session: Session, *, digest_id: int, after_id: int, limit: int, now: datetime) -> list[Delivery]:
    """Move up to `limit` pending rows after `after_id` to SENDING, if the send is not paused or cancelled,
    and return the rows this caller won."""
    session.commit()  # start from a fresh snapshot: SQLite cannot upgrade a stale read to a write
    candidates = (
        select(Delivery.id)
        .where(Delivery.digest_id == digest_id, Delivery.id > after_id, Delivery.status == DeliveryStatus.PENDING)
        .order_by(Delivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Rows another worker is claiming right now are skipped, not waited for.
        candidates = candidates.with_for_update(skip_locked=True)
    sending = exists().where(Digest.id == digest_id, Digest.status == DigestStatus.SENDING)
    # One statement: on SQLite it is atomic by itself, on PostgreSQL the row locks make it so. It returns
    # the rows as they are now (populate_existing: a long-lived session may remember older attempts).
    won = list(session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(candidates.scalar_subquery()), Delivery.status == DeliveryStatus.PENDING, sending)
        .values(status=DeliveryStatus.SENDING.value, claimed_at=now)
        .returning(Delivery)
        .execution_options(populate_existing=True, synchronize_session=False)
    ))
    won.sort(key=lambda row: row.id)
    _record(session, ((row.id, DeliveryStatus.SENDING, None) for row in won), now)
    session.commit()
    return won


def settle(session: Session, outcomes: Sequence[Outcome], *, now: datetime) -> int:
    """Record the outcomes of a chunk of attempts in one transaction; only rows still held in SENDING move.
    Returns how many moved."""
    if not outcomes:
        return 0
    statement = (
        update(_deliveries)
        .where(_deliveries.c.id == bindparam("b_id"), _deliveries.c.status == DeliveryStatus.SENDING.value)
        .values(status=bindparam("b_status"), last_reply=bindparam("b_reply"),
                next_attempt_at=bindparam("b_next"), sent_at=bindparam("b_sent"),
                attempts=_deliveries.c.attempts + 1)
    )
    rows = [{"b_id": o.delivery_id, "b_status": o.status.value, "b_reply": o.reply[:1000],
             "b_next": o.next_attempt_at, "b_sent": now if o.status is DeliveryStatus.SENT else None}
            for o in outcomes]
    moved = session.connection().execute(statement, rows).rowcount
    _record(session, ((o.delivery_id, o.status, o.reply) for o in outcomes), now)
    session.commit()
    return moved


def release(session: Session, delivery_ids: Sequence[int], *, now: datetime, reason: str) -> None:
    """Hand claimed rows back untouched (the mail server could not be used at all)."""
    released = session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.PENDING.value, claimed_at=None)
        .returning(Delivery.id)
    ).all()
    _record(session, ((i, DeliveryStatus.PENDING, reason) for i in released), now)
    session.commit()


def requeue_stuck_and_due(session: Session, *, now: datetime, sending_timeout: timedelta) -> list[int]:
    """Sweeper: rows left in SENDING by a dead worker, and soft failures whose time has come, go back to
    PENDING. Returns the digests that have work again."""
    stuck = and_(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < now - sending_timeout)
    due = and_(Delivery.status == DeliveryStatus.SOFT_FAILED, Delivery.next_attempt_at <= now)
    requeued = session.execute(
        update(Delivery)
        .where(stuck | due)
        .values(status=DeliveryStatus.PENDING.value, claimed_at=None)
        .returning(Delivery.id, Delivery.digest_id)
    ).all()
    _record(session, ((row.id, DeliveryStatus.PENDING, "requeued by the sweeper") for row in requeued), now)
    session.commit()
    return sorted({row.digest_id for row in requeued})


def stalled_digests(session: Session, *, now: datetime, quiet_for: timedelta) -> list[int]:
    """Sends with pending rows that no worker has claimed from lately: their queue message was lost
    (a broker restart, a killed worker). The database remembers what the queue forgot."""
    recent_claim = exists().where(Delivery.digest_id == Digest.id, Delivery.claimed_at >= now - quiet_for)
    pending = exists().where(Delivery.digest_id == Digest.id, Delivery.status == DeliveryStatus.PENDING)
    return list(session.scalars(
        select(Digest.id).where(Digest.status == DigestStatus.SENDING, pending, ~recent_claim,
                                Digest.created_at < now - quiet_for)
    ))


def cancel_unsent(session: Session, digest_id: int, *, now: datetime) -> int:
    cancelled = session.scalars(
        update(Delivery)
        .where(Delivery.digest_id == digest_id,
               Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SOFT_FAILED]))
        .values(status=DeliveryStatus.CANCELLED.value)
        .returning(Delivery.id)
    ).all()
    _record(session, ((i, DeliveryStatus.CANCELLED, "send cancelled") for i in cancelled), now)
    return len(cancelled)


def progress(session: Session, digest_id: int) -> dict[str, int]:
    """Count of ledger rows per status for one digest (every status present, zero when none)."""
    counts = dict(session.execute(
        select(Delivery.status, func.count()).where(Delivery.digest_id == digest_id).group_by(Delivery.status)
    ).all())
    return {status.value: counts.get(status.value, 0) for status in DeliveryStatus}


def sent_since(session: Session, digest_id: int, since: datetime) -> int:
    return session.scalar(select(func.count()).where(
        Delivery.digest_id == digest_id, Delivery.status == DeliveryStatus.SENT, Delivery.sent_at >= since))


def unsettled_count(session: Session, digest_id: int) -> int:
    return session.scalar(
        select(func.count()).where(Delivery.digest_id == digest_id, Delivery.status.in_(UNSETTLED)))


def _record(session: Session, changes: Iterable[tuple[int, DeliveryStatus, str | None]], now: datetime) -> None:
    rows = [{"delivery_id": i, "status": status.value, "reply": reply[:1000] if reply else None, "at": now}
            for i, status, reply in changes]
    if rows:
        session.execute(insert(DeliveryEvent), rows)
