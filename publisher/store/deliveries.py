"""Named queries that create ledger rows: the audience of a send, frozen when it starts.
The state machine of those rows lives in publisher.store.ledger."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from publisher.models import Delivery, DeliveryStatus, Subscriber, Subscription, SubscriptionStatus
from publisher.models.base import utcnow
from publisher.store import chunked
from publisher.store.suppressions import suppressed_clause


def freeze_audience(session: Session, *, digest_id: int, list_id: int,
                    subscriber_ids: Sequence[int] | None = None) -> int:
    """One pending row per confirmed, unsuppressed subscriber (of `subscriber_ids` when given: the edition's
    audience), copied now: later sign-ups wait for the next digest."""
    audience = (
        select(
            Subscriber.id.label("subscriber_id"),
            Subscriber.email,
            Subscriber.name,
        )
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.list_id == list_id, Subscription.status == SubscriptionStatus.CONFIRMED,
               ~suppressed_clause(Subscriber.email, list_id))
        .order_by(Subscriber.id)
    )
    queries = [audience] if subscriber_ids is None else \
        [audience.where(Subscriber.id.in_(part)) for part in chunked(subscriber_ids)]
    now = utcnow()
    rows = [
        {"digest_id": digest_id, "subscriber_id": r.subscriber_id, "email": r.email, "name": r.name,
         "status": DeliveryStatus.PENDING.value, "attempts": 0, "created_at": now}
        for query in queries for r in session.execute(query)
    ]
    if rows:
        session.execute(insert(Delivery), rows)
    return len(rows)
