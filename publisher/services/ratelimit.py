"""Abuse limits counted in the database (works across web processes, workers and machines).
Keys are hashes: the table holds no address or IP in clear."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from publisher.models import RateEvent

SIGNUP_PER_IP = "signup_ip"
CONFIRM_MAIL = "confirm_mail"


def rate_key(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def count_recent(session: Session, kind: str, value: str, *, window: timedelta, now: datetime) -> int:
    """On PostgreSQL, concurrent requests for the same key queue up here until the counting transaction
    ends, so two web processes cannot both pass the last free slot."""
    if session.get_bind().dialect.name == "postgresql":
        lock_id = int(rate_key(f"{kind}:{value}")[:15], 16)
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    return session.scalar(select(func.count()).where(RateEvent.kind == kind, RateEvent.key == rate_key(value),
                                                     RateEvent.at > now - window))


def record(session: Session, kind: str, value: str, *, now: datetime) -> RateEvent:
    event = RateEvent(kind=kind, key=rate_key(value), at=now)
    session.add(event)
    session.flush()
    return event


def forget(session: Session, value: str) -> int:
    """GDPR: every counted action keyed by this value."""
    return session.execute(delete(RateEvent).where(RateEvent.key == rate_key(value))).rowcount


def prune(session: Session, *, now: datetime, older_than: timedelta = timedelta(days=2)) -> int:
    return session.execute(delete(RateEvent).where(RateEvent.at < now - older_than)).rowcount
