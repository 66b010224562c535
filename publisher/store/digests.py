"""Named queries on digests: the past sends of a list with their figures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from publisher.models import Delivery, DeliveryStatus, Digest, MailingList, Subscription


def recent(session: Session, *, list_id: int | None, limit: int, offset: int) -> list[tuple[Digest, str]]:
    """(digest, list name), newest first."""
    query = select(Digest, MailingList.name).join(MailingList, MailingList.id == Digest.list_id)
    if list_id is not None:
        query = query.where(Digest.list_id == list_id)
    rows = session.execute(query.order_by(Digest.id.desc()).limit(limit).offset(offset)).all()
    return [(digest, name) for digest, name in rows]


def delivery_counts(session: Session, digest_ids: list[int]) -> dict[int, dict[str, int]]:
    """digest id -> {status: rows}, every status present."""
    found: dict[int, dict[str, int]] = {i: {s.value: 0 for s in DeliveryStatus} for i in digest_ids}
    rows = session.execute(
        select(Delivery.digest_id, Delivery.status, func.count())
        .where(Delivery.digest_id.in_(digest_ids)).group_by(Delivery.digest_id, Delivery.status))
    for digest_id, status, count in rows:
        found[digest_id][status] = count
    return found


def unsubscribes_between(session: Session, list_id: int, start: datetime, end: datetime | None) -> int:
    query = select(func.count()).where(Subscription.list_id == list_id, Subscription.unsubscribed_at >= start)
    if end is not None:
        query = query.where(Subscription.unsubscribed_at < end)
    return session.scalar(query) or 0


def next_digest_at(session: Session, digest: Digest) -> datetime | None:
    return session.scalar(select(func.min(Digest.created_at))
                          .where(Digest.list_id == digest.list_id, Digest.id > digest.id))
