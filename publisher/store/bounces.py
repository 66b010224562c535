"""Named queries of the bounce intake: which delivery a signed identity names, the bounce history of a
subscriber, and the count of reports we did not believe."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from publisher.models import BounceEvent, Delivery, DeliveryStatus, Subscriber, UnverifiedReport


def delivery_of(session: Session, *, digest_id: int, subscriber_id: int) -> tuple[Delivery, Subscriber] | None:
    """The ledger row of this digest x subscriber, and its subscriber, when both still exist and are the same
    person: a wiped or deleted subscriber's rows are gone, so a late report about them names nobody (even
    if their id was given to someone else since)."""
    row = session.execute(
        select(Delivery, Subscriber).join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.digest_id == digest_id, Delivery.subscriber_id == subscriber_id)
    ).first()
    if row is None or row.Delivery.email.lower() != row.Subscriber.email.lower():
        return None
    return row.Delivery, row.Subscriber


def soft_bounced_digests(session: Session, subscriber_id: int) -> list[int | None]:
    return list(session.scalars(select(BounceEvent.digest_id).where(
        BounceEvent.subscriber_id == subscriber_id, BounceEvent.kind == "soft")))


def latest_sent_digests(session: Session, subscriber_id: int, *, limit: int) -> list[int]:
    return list(session.scalars(select(Delivery.digest_id).where(
        Delivery.subscriber_id == subscriber_id, Delivery.status == DeliveryStatus.SENT)
        .order_by(Delivery.digest_id.desc()).limit(limit)))


UNVERIFIED_KEPT = timedelta(days=30)


def record_unverified(session: Session, *, kind: str, reason: str, rcpt: str | None, now: datetime) -> None:
    """Count one; the count covers the last 30 days, so a flood of forgeries cannot grow the table forever."""
    session.execute(delete(UnverifiedReport).where(UnverifiedReport.at < now - UNVERIFIED_KEPT))
    session.add(UnverifiedReport(kind=kind, reason=reason[:200], rcpt=rcpt[:320] if rcpt else None, at=now))
    session.flush()


def unverified_summary(session: Session, *, now: datetime) -> dict:
    """`publisher status --json` → "bounces": reports we received but did not act on (last 30 days)."""
    total, last = session.execute(select(func.count(), func.max(UnverifiedReport.at))).one()
    day = session.scalar(select(func.count()).where(UnverifiedReport.at > now - timedelta(hours=24)))
    return {"unverified": total, "unverified_last_24h": day,
            "last_unverified_at": last.isoformat() if last else None}
