"""Named queries on the transactional mail ledger. As in store/ledger.py, every change is a conditional
UPDATE on the row's state (and, while a worker holds it, on that worker's token): two tasks for one mail
cannot both send it, and a row is `sent` only once the server's 250 is recorded."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from publisher.models import DeliveryStatus, Mail

Status = DeliveryStatus


def _claimable(now: datetime):
    """New, due for a retry, or held by a worker whose lease ran out (it died, maybe after the 250)."""
    return or_(
        Mail.status == Status.PENDING,
        and_(Mail.status == Status.SOFT_FAILED, Mail.next_attempt_at <= now),
        and_(Mail.status == Status.SENDING, Mail.lease_until < now),
    )


def claim(session: Session, mail_id: int, *, token: str, now: datetime, lease: timedelta) -> Mail | None:
    """Take the mail for one attempt (counted now: a mail that kills every worker is given up, not tried
    forever); None when it is settled, not yet due, or held by a live worker."""
    session.commit()  # a fresh snapshot: SQLite cannot upgrade a stale read to a write
    won = session.scalars(
        update(Mail)
        .where(Mail.id == mail_id, _claimable(now))
        .values(status=Status.SENDING.value, claimed_by=token, lease_until=now + lease, attempts=Mail.attempts + 1)
        .returning(Mail)
        .execution_options(populate_existing=True, synchronize_session=False)
    ).one_or_none()
    session.commit()
    return won


def settle(session: Session, mail_id: int, *, token: str, status: Status, reply: str, now: datetime,
           next_attempt_at: datetime | None = None) -> bool:
    """Record the attempt's outcome, if this worker still holds the mail. True when the row moved."""
    moved = session.execute(
        update(Mail)
        .where(Mail.id == mail_id, Mail.status == Status.SENDING, Mail.claimed_by == token)
        .values(status=status.value, last_reply=reply[:1000], next_attempt_at=next_attempt_at,
                sent_at=now if status is Status.SENT else None, claimed_by=None, lease_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(moved)


def due(session: Session, *, now: datetime, quiet_for: timedelta) -> list[int]:
    """Mails a task should try now that no queue message may be carrying: retries whose time has come,
    mails of a dead worker, and new ones still untried after `quiet_for` (their message was lost)."""
    return list(session.scalars(
        select(Mail.id).where(or_(
            and_(Mail.status == Status.PENDING, Mail.created_at < now - quiet_for),
            and_(Mail.status == Status.SOFT_FAILED, Mail.next_attempt_at <= now),
            and_(Mail.status == Status.SENDING, Mail.lease_until < now),
        )).order_by(Mail.id).limit(1000)
    ))
