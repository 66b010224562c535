"""A person's retry of one failed ledger row: back to PENDING, with its event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from publisher.models import Delivery, DeliveryEvent, DeliveryStatus, Digest, DigestStatus

RETRYABLE = (DeliveryStatus.HARD_FAILED, DeliveryStatus.UNKNOWN, DeliveryStatus.SOFT_FAILED)


def retry_row(session: Session, delivery_id: int, *, now: datetime, reason: str) -> int | None:
    """The row's digest when it moved (and its send reopened if it had finished); None if it was not failed."""
    digest_id = session.scalar(
        update(Delivery).where(Delivery.id == delivery_id, Delivery.status.in_([s.value for s in RETRYABLE]))
        .values(status=DeliveryStatus.PENDING.value, next_attempt_at=None, claimed_at=None, claimed_by=None,
                lease_until=None)
        .returning(Delivery.digest_id))
    if digest_id is None:
        return None
    session.execute(insert(DeliveryEvent).values(delivery_id=delivery_id, status=DeliveryStatus.PENDING.value,
                                                  reply=reason, at=now))
    session.execute(update(Digest).where(Digest.id == digest_id, Digest.status == DigestStatus.SENT)
                    .values(status=DigestStatus.SENDING.value, status_reason=None, finished_at=None))
    return digest_id
